"""Settings: the spec's variables, production refusing unsafe defaults by name, and secrets
never echoed in errors."""

import json

import pytest

from app.kit.config import Scope, SettingsError, load_settings, sha256_hex

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
    "JWT_MAX_LIFETIME_SECONDS",
    "PLANS_FILE",
    "APP_ENV",
    "PORT",
]
REQUIRED_IN_PRODUCTION = ["MONGODB_URI", "STRIPE_WEBHOOK_SECRET", "API_KEYS"]
SECRET = "sk_live_do_not_print_me"
VALID_KEYS = json.dumps(
    [
        {
            "name": "worker",
            "sha256": sha256_hex("key-worker"),
            "scopes": ["credits:read", "credits:debit"],
        }
    ]
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    # Only what a test sets counts: no inherited variables, no .env from the working directory.
    for name in SETTING_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def production_env(monkeypatch, **values):
    env = {
        "APP_ENV": "production",
        "MONGODB_URI": "mongodb://db:27017/?replicaSet=rs0",
        "STRIPE_WEBHOOK_SECRET": "whsec_live",
        "API_KEYS": VALID_KEYS,
        **values,
    }
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def test_development_defaults_follow_the_spec():
    settings = load_settings(_env_file=None)

    assert settings.app_env == "development"
    assert settings.mongodb_uri is None
    assert settings.mongodb_db == "credits"
    assert settings.port == 8000
    assert settings.jwt_account_claim == "sub"
    assert settings.api_key_entries == ()
    assert settings.plans_file.name == "plans.example.toml"


def test_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("MONGODB_DB", "ledger")
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_a, whsec_b")
    monkeypatch.setenv("API_KEYS", VALID_KEYS)

    settings = load_settings(_env_file=None)

    assert (settings.mongodb_db, settings.port) == ("ledger", 9000)
    assert settings.webhook_secrets == ("whsec_a", "whsec_b")
    [entry] = settings.api_key_entries
    assert entry.name == "worker"
    assert entry.scopes == {Scope.credits_read, Scope.credits_debit}


def test_settings_are_read_from_a_dotenv_file(tmp_path):
    (tmp_path / ".env").write_text("MONGODB_DB=from_file\nJWT_AUDIENCE=credits-api\n")

    settings = load_settings()

    assert (settings.mongodb_db, settings.jwt_audience) == ("from_file", "credits-api")


def test_production_starts_with_everything_it_needs(monkeypatch):
    production_env(monkeypatch)

    settings = load_settings(_env_file=None)

    assert settings.app_env == "production"


@pytest.mark.parametrize("missing", REQUIRED_IN_PRODUCTION)
def test_production_without_one_required_setting_names_exactly_it(monkeypatch, missing):
    production_env(monkeypatch, **{missing: None})

    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)

    message = str(raised.value)
    assert missing in message
    assert [name for name in REQUIRED_IN_PRODUCTION if name in message] == [missing]


@pytest.mark.parametrize("present", REQUIRED_IN_PRODUCTION)
def test_production_without_two_required_settings_names_both(monkeypatch, present):
    production_env(monkeypatch, **{n: None for n in REQUIRED_IN_PRODUCTION if n != present})

    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)

    message = str(raised.value)
    assert [n for n in REQUIRED_IN_PRODUCTION if n in message] == [
        n for n in REQUIRED_IN_PRODUCTION if n != present
    ]


def test_production_without_anything_names_all_three(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")

    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)

    assert all(name in str(raised.value) for name in REQUIRED_IN_PRODUCTION)


def test_production_counts_a_blank_setting_as_missing(monkeypatch):
    production_env(monkeypatch, MONGODB_URI="   ")

    with pytest.raises(SettingsError, match="MONGODB_URI"):
        load_settings(_env_file=None)


def test_production_refuses_an_empty_list_of_api_keys(monkeypatch):
    production_env(monkeypatch, API_KEYS="[]")

    with pytest.raises(SettingsError, match="API_KEYS"):
        load_settings(_env_file=None)


def test_production_refuses_a_webhook_secret_of_only_commas(monkeypatch):
    production_env(monkeypatch, STRIPE_WEBHOOK_SECRET=" , ")

    with pytest.raises(SettingsError, match="STRIPE_WEBHOOK_SECRET"):
        load_settings(_env_file=None)


def test_production_can_be_asked_for_by_argument(monkeypatch):
    with pytest.raises(SettingsError) as raised:
        load_settings(
            _env_file=None, app_env="production", mongodb_uri="mongodb://db", api_keys=VALID_KEYS
        )

    assert "STRIPE_WEBHOOK_SECRET" in str(raised.value)
    assert "MONGODB_URI" not in str(raised.value)


BAD_API_KEYS = [
    pytest.param(SECRET, id="not_json"),
    pytest.param(json.dumps({"name": SECRET}), id="object_not_list"),
    pytest.param(json.dumps([SECRET]), id="entry_not_object"),
    pytest.param(json.dumps([{"name": "w", "sha256": SECRET, "scopes": []}]), id="bad_hash"),
    pytest.param(
        json.dumps([{"name": "w", "sha256": sha256_hex("k"), "scopes": [SECRET]}]),
        id="unknown_scope",
    ),
    pytest.param(
        json.dumps([{"name": "w", "sha256": sha256_hex("k"), "scopes": [], "key": SECRET}])
        + SECRET,
        id="trailing_garbage",
    ),
]


@pytest.mark.parametrize("value", BAD_API_KEYS)
def test_bad_api_keys_raise_an_error_that_does_not_contain_the_value(monkeypatch, value):
    monkeypatch.setenv("API_KEYS", value)

    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)

    assert "API_KEYS" in str(raised.value)
    assert SECRET not in str(raised.value)
    assert SECRET not in repr(raised.value)
    # Nor in a chained exception that a traceback would print.
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_api_key_hash_is_accepted_in_upper_case(monkeypatch):
    monkeypatch.setenv(
        "API_KEYS",
        json.dumps([{"name": "w", "sha256": sha256_hex("k").upper(), "scopes": ["credits:read"]}]),
    )

    [entry] = load_settings(_env_file=None).api_key_entries

    assert entry.sha256 == sha256_hex("k")


@pytest.mark.parametrize(
    ("name", "value"), [("APP_ENV", "staging"), ("PORT", "0"), ("PORT", "eighty")]
)
def test_invalid_setting_raises_a_settings_error_naming_it(monkeypatch, name, value):
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)

    assert name.lower() in str(raised.value).lower()


def test_a_bad_secret_setting_is_not_echoed(monkeypatch):
    monkeypatch.setenv("APP_ENV", SECRET)

    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)

    assert SECRET not in str(raised.value)
