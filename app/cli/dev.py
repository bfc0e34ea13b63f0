"""python -m app dev: fill in development defaults, check every setting, take the port, run
uvicorn, and once it is up print how to call the API and save the minted credentials."""

from __future__ import annotations

import argparse
import json
import os
import secrets
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from app.cli.common import (
    DEV_CREDENTIALS_FILE,
    DEV_WEBHOOK_SECRET_PREFIX,
    EXAMPLE_PLANS_FILE,
    SCOPES,
    redact_uri,
)
from app.cli.keys import new_api_key


@dataclass(frozen=True)
class DevSetup:
    host: str
    port: int
    app_env: str
    mongodb_uri: str | None
    plans_file: str
    api_key: str | None  # minted for this run; None when API_KEYS was already configured
    webhook_secret: str | None  # likewise for STRIPE_WEBHOOK_SECRET
    # "0.5 ms round trip, 2 ms commit" when the embedded engine simulates a replica set's
    # latency (benchmarks: EMBEDDED_ROUND_TRIP_MS, EMBEDDED_COMMIT_MS).
    simulated_latency: str | None = None

    @property
    def base_url(self) -> str:
        # 0.0.0.0 and :: listen everywhere but are not addresses to connect to.
        host = "127.0.0.1" if self.host in {"0.0.0.0", "::", ""} else self.host
        return f"http://{host}:{self.port}"


def _read_dotenv(path: Path) -> dict[str, str]:
    """The `.env` file the application's settings will also read, parsed the same way."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # python-dotenv: pydantic-settings' own .env parser

    return {name: value for name, value in dotenv_values(path).items() if value is not None}


def prepare_dev_environment(
    environ: MutableMapping[str, str], dotenv: Mapping[str, str] | None = None
) -> DevSetup:
    """Fill in development defaults for whatever neither `environ` nor `.env` sets.

    Only `environ` changes: nothing is printed or written, so a start that the settings then
    refuse leaves no trace."""
    dotenv = dotenv or {}

    def configured(name: str) -> str | None:
        # Blank counts as unset, as in the application's settings.
        for source in (environ, dotenv):
            value = source.get(name)
            if value is not None and value.strip():
                return value
        return None

    def default(name: str, value: str) -> str:
        current = configured(name)
        if current is None:
            environ[name] = current = value
        return current

    app_env = default("APP_ENV", "development")
    port_setting = default("PORT", "8000")
    plans_file = default("PLANS_FILE", str(EXAMPLE_PLANS_FILE))
    # Production must be configured on purpose: mint nothing, let the settings refuse to start.
    production = app_env.strip().lower() == "production"

    api_key = None
    if configured("API_KEYS") is None and not production:
        api_key, entry = new_api_key("dev", SCOPES)
        environ["API_KEYS"] = json.dumps([entry])

    webhook_secret = None
    if configured("STRIPE_WEBHOOK_SECRET") is None and not production:
        webhook_secret = DEV_WEBHOOK_SECRET_PREFIX + secrets.token_hex(16)
        environ["STRIPE_WEBHOOK_SECRET"] = webhook_secret

    return DevSetup(
        host=configured("HOST") or "127.0.0.1",
        # The settings validate PORT (and say so in one line) before it is used.
        port=int(port_setting) if port_setting.strip().isdigit() else 0,
        app_env=app_env,
        mongodb_uri=configured("MONGODB_URI"),
        plans_file=plans_file,
        api_key=api_key,
        webhook_secret=webhook_secret,
    )


def write_dev_credentials(setup: DevSetup, path: Path = DEV_CREDENTIALS_FILE) -> None:
    credentials = {
        "base_url": setup.base_url,
        "api_key": setup.api_key,
        "webhook_secret": setup.webhook_secret,
    }
    # Owner-only: the file holds a key with every scope. Written beside and renamed, so a
    # reader never sees half a file.
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(credentials, file, indent=2)
        file.write("\n")
    os.replace(partial, path)


def dev_banner(setup: DevSetup, credentials_file: Path = DEV_CREDENTIALS_FILE) -> str:
    url = setup.base_url
    local = f"localhost:{setup.port}"
    key = setup.api_key or "$API_KEY"
    if setup.mongodb_uri:
        database = redact_uri(setup.mongodb_uri)
    else:
        database = "embedded in-memory engine (MONGODB_URI unset): data is lost on exit"
        if setup.simulated_latency:
            database += f"; SIMULATED latency: {setup.simulated_latency}"
    if setup.api_key:
        key_line = f"{setup.api_key}  (all scopes; minted for this run)"
    else:
        key_line = "from API_KEYS (set $API_KEY to one of your keys for the examples)"
    if setup.webhook_secret:
        secret_line = f"{setup.webhook_secret}  (minted for this run)"
    else:
        secret_line = "from STRIPE_WEBHOOK_SECRET"
    auth = f'-H "Authorization: Bearer {key}"'
    lines = [
        f"Credit Ledger ({setup.app_env})",
        f"  listening on    {url}",
        f"  API docs        {url}/docs",
        f"  database        {database}",
        f"  plans           {setup.plans_file}",
        f"  API key         {key_line}",
        f"  webhook secret  {secret_line}",
    ]
    if setup.app_env.strip().lower() == "production":
        lines.append("  (APP_ENV=production: no development key or webhook secret minted)")
    elif setup.api_key or setup.webhook_secret:
        lines.append(f"  (saved in {credentials_file.name} for make demo)")
    lines += [
        "",
        "Try it:",
        f"  curl -X POST {local}/v1/accounts/user_42/grants {auth} "
        '-H "Idempotency-Key: g1" -H "Content-Type: application/json" '
        """-d '{"amount":100,"kind":"bonus","description":"welcome"}'""",
        f"  curl -X POST {local}/v1/accounts/user_42/debits {auth} "
        '-H "Idempotency-Key: d1" -H "Content-Type: application/json" '
        """-d '{"amount":3}'""",
        f"  curl {local}/v1/accounts/user_42 {auth}",
        "",
    ]
    return "\n".join(lines)


def announce(setup: DevSetup, credentials_file: Path) -> None:
    """Called once the server is up: only a running server writes the credentials file."""
    production = setup.app_env.strip().lower() == "production"
    if not production:
        write_dev_credentials(setup, credentials_file)
    print(dev_banner(setup, credentials_file), flush=True)


def dev_command(args: argparse.Namespace) -> int:
    import uvicorn

    from app.cli.startup import bind_port, load_configuration, run_server
    from app.http.app import configure_logging, create_app

    # Settings go into os.environ first: the reloader's processes read them from there.
    setup = prepare_dev_environment(os.environ, _read_dotenv(Path(".env")))
    configuration = load_configuration()  # every mistake stops here, in one line
    settings = configuration.settings
    simulated = None
    if settings.embedded_round_trip_ms or settings.embedded_commit_ms:
        simulated = (
            f"{settings.embedded_round_trip_ms:g} ms round trip, "
            f"{settings.embedded_commit_ms:g} ms commit"
        )
    setup = replace(setup, port=settings.port, simulated_latency=simulated)
    sock = bind_port(setup.host, setup.port)
    configure_logging(configuration.settings.app_env == "production")
    on_started = partial(announce, setup, Path(args.credentials_file))
    if args.reload:
        # The reloader imports the app by name in a fresh process, from the same environment.
        config = uvicorn.Config(
            "app.http.app:app", reload=True, log_level="info", access_log=False, log_config=None
        )
    else:
        # uvicorn's line per request is off: app/http/access_log.py logs the failed and the slow.
        config = uvicorn.Config(
            create_app(configuration.settings, catalog=configuration.catalog),
            log_level="info",
            access_log=False,
            log_config=None,  # uvicorn's lines go through app/kit/logs.py's handler
        )
    return run_server(config, sock, on_started)
