"""Starting the server, as a user would (`python -m app dev` / `serve` in a subprocess): every
mistake is one line on stderr and exit status 2, before any banner, bind or write; a start that
succeeds announces itself only once it serves, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.kit.config import sha256_hex
from tests.support.ports import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
SETTING_VARS = [
    "MONGODB_URI",
    "MONGODB_DB",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_KEY",
    "API_KEYS",
    "JWT_SECRET",
    "JWT_PUBLIC_KEY",
    "JWT_AUDIENCE",
    "JWT_ACCOUNT_CLAIM",
    "PLANS_FILE",
    "APP_ENV",
    "PORT",
    "HOST",
    "WEB_CONCURRENCY",
]
EARLIER_CREDENTIALS = '{"base_url": "http://127.0.0.1:8000", "api_key": "ck_earlier"}\n'
SECRET_KEY = "ck_pasted_key_instead_of_its_hash"


def environment(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTING_VARS}
    env.update(values)
    return env


def start(tmp_path: Path, command: str, **values: str) -> subprocess.Popen[str]:
    # Run from an empty directory, so that no .env of the developer's counts.
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            command,
            *(
                ["--credentials-file", str(tmp_path / "credentials.json")]
                if command == "dev"
                else []
            ),
        ],
        cwd=tmp_path,
        env=environment(tmp_path, **values),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def read_until(stream, needle: str, deadline: float) -> str:
    """What a child wrote to a pipe until it holds `needle` (or the child ends, or time is up).
    Reads the file descriptor itself: a buffered readline would hide lines from select()."""
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], deadline - time.monotonic())
        if not ready:
            break
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            break
        seen += chunk
        if needle.encode() in seen:
            return seen.decode()
    raise AssertionError(f"never saw {needle!r}; got:\n{seen.decode()}")


@pytest.fixture
def credentials(tmp_path) -> Path:
    path = tmp_path / "credentials.json"
    path.write_text(EARLIER_CREDENTIALS)
    return path


@pytest.fixture
def busy_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


MISTAKES = {
    "plans_file_missing": ({"PLANS_FILE": "nope.toml"}, ["PLANS_FILE", "nope.toml", "not found"]),
    "app_env_misspelt": ({"APP_ENV": "prod"}, ["APP_ENV", "production"]),
    "port_out_of_range": ({"PORT": "70000"}, ["PORT", "65535"]),
    "port_not_a_number": ({"PORT": "eighty"}, ["PORT"]),
    "api_keys_malformed": ({"API_KEYS": '[{"name": "w", ' + SECRET_KEY}, ["API_KEYS", "JSON"]),
    "api_keys_not_a_list": ({"API_KEYS": '{"name": "w"}'}, ["API_KEYS", "list"]),
    "api_key_bad_hash": (
        {
            "API_KEYS": json.dumps(
                [
                    {"name": "ok", "sha256": sha256_hex("k"), "scopes": ["credits:read"]},
                    {"name": "w", "sha256": SECRET_KEY, "scopes": ["credits:read"]},
                ]
            )
        },
        ["API_KEYS entry 1", "sha256"],
    ),
    "api_key_unknown_scope": (
        {
            "API_KEYS": json.dumps(
                [{"name": "w", "sha256": sha256_hex("k"), "scopes": ["credits:steal"]}]
            )
        },
        ["API_KEYS entry 0", "scopes"],
    ),
    "production_unconfigured": (
        {"APP_ENV": "production"},
        ["MONGODB_URI", "STRIPE_WEBHOOK_SECRET", "API_KEYS"],
    ),
}


def assert_refused(
    result_stdout: str, result_stderr: str, returncode: int, words: list[str]
) -> None:
    assert returncode == 2, result_stderr
    lines = result_stderr.splitlines()
    assert len(lines) == 1, result_stderr
    assert all(word in lines[0] for word in words), lines[0]
    assert SECRET_KEY not in result_stderr
    assert result_stdout == ""  # no banner, no key


@pytest.mark.slow
@pytest.mark.parametrize("command", ["dev", "serve"])
@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_start_mistake_is_one_line_exit_2_no_banner_and_no_write(
    tmp_path, credentials, command, mistake
):
    values, words = MISTAKES[mistake]
    # Development rules, said explicitly (serve's default is production), unless the mistake
    # is about them.
    values = {"PORT": str(free_port()), "APP_ENV": "development", **values}

    process = start(tmp_path, command, **values)
    stdout, stderr = process.communicate(timeout=60)

    assert_refused(stdout, stderr, process.returncode, words)
    assert credentials.read_text() == EARLIER_CREDENTIALS


@pytest.mark.slow
def test_a_wrong_rate_card_stops_the_start_with_its_line(tmp_path, credentials):
    plans = tmp_path / "rates.toml"
    plans.write_text(
        '[meters."image.hd"]\n[[meters."image.hd".versions]]\n'
        "effective_from = 2026-01-01T00:00:00Z\ncredits = 3\nper = 0\n"
    )
    process = start(
        tmp_path, "dev", PORT=str(free_port()), APP_ENV="development", PLANS_FILE=str(plans)
    )
    stdout, stderr = process.communicate(timeout=60)

    words = ["PLANS_FILE", "meters.image.hd.versions[0].per", "(line 5)"]
    assert_refused(stdout, stderr, process.returncode, words)
    assert credentials.read_text() == EARLIER_CREDENTIALS


@pytest.mark.slow
@pytest.mark.parametrize("command", ["dev", "serve"])
def test_a_busy_port_is_one_line_exit_2_and_leaves_the_first_servers_credentials(
    tmp_path, credentials, busy_port, command
):
    process = start(tmp_path, command, PORT=str(busy_port), APP_ENV="development")
    stdout, stderr = process.communicate(timeout=60)

    assert_refused(stdout, stderr, process.returncode, [f"PORT={busy_port}", "in use"])
    assert credentials.read_text() == EARLIER_CREDENTIALS


@pytest.mark.slow
def test_serve_refuses_several_workers_on_the_embedded_engine(tmp_path):
    process = start(
        tmp_path, "serve", PORT=str(free_port()), WEB_CONCURRENCY="2", APP_ENV="development"
    )
    stdout, stderr = process.communicate(timeout=60)

    assert_refused(stdout, stderr, process.returncode, ["WEB_CONCURRENCY", "MONGODB_URI"])


@pytest.mark.slow
def test_serve_applies_the_production_rules_unless_app_env_is_set(tmp_path):
    # No APP_ENV, and a .env saying development does not count: production refuses to start
    # without a database, a webhook secret and keys.
    (tmp_path / ".env").write_text("APP_ENV=development\n")
    process = start(tmp_path, "serve", PORT=str(free_port()))
    stdout, stderr = process.communicate(timeout=60)

    assert_refused(
        stdout, stderr, process.returncode, ["MONGODB_URI", "STRIPE_WEBHOOK_SECRET", "API_KEYS"]
    )


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM, as Docker and systemd send it; the child's remaining log."""
    process.send_signal(signal.SIGTERM)
    try:
        _, log = process.communicate(timeout=30)
    finally:
        process.kill()
    # uvicorn shuts down, then re-raises the signal it caught: dying of it is a clean stop.
    assert process.returncode in (0, -signal.SIGTERM), log
    return log


@pytest.mark.slow
def test_dev_announces_and_saves_its_credentials_once_it_serves(tmp_path, credentials):
    port = free_port()
    process = start(tmp_path, "dev", PORT=str(port))
    try:
        banner = read_until(process.stdout, "Try it:", time.monotonic() + 60)
        saved = json.loads(credentials.read_text())
        # The banner comes after the start-up: the server answers with the key it shows.
        answer = httpx.get(
            f"{saved['base_url']}/v1/accounts/nobody",
            headers={"Authorization": f"Bearer {saved['api_key']}"},
        )
    finally:
        log = stop(process)

    assert f"listening on    http://127.0.0.1:{port}" in banner
    assert saved["api_key"] in banner and saved["webhook_secret"] in banner
    assert saved["base_url"] == f"http://127.0.0.1:{port}"
    assert (credentials.stat().st_mode & 0o777) == 0o600
    assert answer.status_code == 404 and answer.json()["code"] == "account_not_found"
    assert "Application shutdown complete" in log


@pytest.mark.slow
def test_serve_starts_answers_and_stops_gracefully_on_sigterm(tmp_path):
    port = free_port()
    keys = json.dumps([{"name": "w", "sha256": sha256_hex("key-w"), "scopes": ["credits:read"]}])
    process = start(
        tmp_path, "serve", PORT=str(port), HOST="127.0.0.1", API_KEYS=keys, APP_ENV="development"
    )
    try:
        started = read_until(process.stderr, "serving on", time.monotonic() + 60)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz")
        answer = httpx.get(
            f"http://127.0.0.1:{port}/v1/accounts/nobody", headers={"Authorization": "Bearer key-w"}
        )
    finally:
        log = stop(process)

    assert "development rules (APP_ENV set by the caller)" in started.splitlines()[0]
    assert health.json() == {"status": "ok", "pid": process.pid}
    assert answer.status_code == 404
    assert "server" not in health.headers  # no version banner in production answers
    assert "Application shutdown complete" in log
