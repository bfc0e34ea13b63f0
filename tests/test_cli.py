"""The operator CLI: minting API keys and preparing the development environment."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import (
    DEV_WEBHOOK_SECRET_PREFIX,
    KEY_PREFIX,
    SCOPES,
    new_api_key,
    prepare_dev_environment,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_new_api_key_entry_holds_the_sha256_of_the_key():
    key, entry = new_api_key("gen-worker", ["credits:read", "credits:debit"])

    assert key.startswith(KEY_PREFIX)
    assert entry == {
        "name": "gen-worker",
        "sha256": hashlib.sha256(key.encode("utf-8")).hexdigest(),
        "scopes": ["credits:read", "credits:debit"],
    }


def test_new_api_key_is_random_each_time():
    first, _ = new_api_key("w", ["credits:read"])
    second, _ = new_api_key("w", ["credits:read"])

    assert first != second


def test_new_api_key_accepts_comma_separated_scopes():
    _, entry = new_api_key("w", ["credits:reserve,credits:read", "credits:read"])

    assert entry["scopes"] == ["credits:read", "credits:reserve"]


def test_new_api_key_all_means_the_five_scopes():
    _, entry = new_api_key("w", "all")

    assert entry["scopes"] == list(SCOPES)


@pytest.mark.parametrize("scopes", [["credits:write"], ["credits:read", "admin"], [], [" , "]])
def test_new_api_key_rejects_unknown_or_missing_scopes(scopes):
    with pytest.raises(ValueError):
        new_api_key("w", scopes)


def test_new_api_key_rejects_a_name_that_breaks_the_shell_line():
    with pytest.raises(ValueError):
        new_api_key("it's", ["credits:read"])


def test_cli_scopes_match_the_settings_scopes():
    from app.kit.config import Scope

    assert set(SCOPES) == {scope.value for scope in Scope}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_keys_new_command_prints_a_key_and_its_entry():
    result = run_cli("keys", "new", "--name", "w", "--scopes", "all")

    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    [key] = [word for word in words if word.startswith(KEY_PREFIX)]
    [entry_line] = [line for line in result.stdout.splitlines() if line.strip().startswith("{")]
    entry = json.loads(entry_line)
    assert entry == {
        "name": "w",
        "sha256": hashlib.sha256(key.encode("utf-8")).hexdigest(),
        "scopes": list(SCOPES),
    }
    assert f"API_KEYS='{json.dumps([entry])}'" in result.stdout
    assert "not be shown again" in result.stdout


@pytest.mark.slow
def test_keys_new_command_refuses_an_unknown_scope():
    result = run_cli("keys", "new", "--name", "w", "--scopes", "credits:read", "credits:steal")

    assert result.returncode == 2
    assert "credits:steal" in result.stderr
    assert KEY_PREFIX not in result.stdout


def test_dev_environment_mints_a_key_and_webhook_secret_when_unset():
    environ: dict[str, str] = {}

    setup = prepare_dev_environment(environ)

    assert setup.api_key is not None
    [entry] = json.loads(environ["API_KEYS"])
    assert entry["sha256"] == hashlib.sha256(setup.api_key.encode()).hexdigest()
    assert entry["scopes"] == list(SCOPES)
    assert environ["STRIPE_WEBHOOK_SECRET"] == setup.webhook_secret
    assert setup.webhook_secret.startswith(DEV_WEBHOOK_SECRET_PREFIX)
    assert environ["APP_ENV"] == "development"
    assert environ["PORT"] == "8000"
    assert environ["PLANS_FILE"].endswith("plans.example.toml")


def test_dev_environment_keeps_settings_from_the_environment():
    environ = {
        "API_KEYS": '[{"name": "mine"}]',
        "STRIPE_WEBHOOK_SECRET": "whsec_mine",
        "PORT": "9001",
        "PLANS_FILE": "plans/mine.toml",
    }

    before = dict(environ)

    setup = prepare_dev_environment(environ)

    assert (setup.api_key, setup.webhook_secret, setup.port) == (None, None, 9001)
    assert environ == before | {"APP_ENV": "development"}


def test_dev_environment_keeps_settings_from_the_dotenv_file():
    environ: dict[str, str] = {}
    dotenv = {"API_KEYS": '[{"name": "mine"}]', "STRIPE_WEBHOOK_SECRET": "whsec_mine"}

    setup = prepare_dev_environment(environ, dotenv)

    assert (setup.api_key, setup.webhook_secret) == (None, None)
    assert "API_KEYS" not in environ
    assert "STRIPE_WEBHOOK_SECRET" not in environ


def test_dev_environment_mints_nothing_in_production():
    environ = {"APP_ENV": "production"}

    setup = prepare_dev_environment(environ)

    assert (setup.api_key, setup.webhook_secret) == (None, None)
    assert "API_KEYS" not in environ
    assert "STRIPE_WEBHOOK_SECRET" not in environ
