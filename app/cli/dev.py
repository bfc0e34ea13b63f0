"""python -m app dev: fill in development defaults, print how to call the API, run uvicorn."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.common import (
    DEV_CREDENTIALS_FILE,
    DEV_WEBHOOK_SECRET_PREFIX,
    EXAMPLE_PLANS_FILE,
    SCOPES,
    CommandError,
    redact_uri,
)
from app.cli.keys import new_api_key

if TYPE_CHECKING:

    pass

# --- Development server ---------------------------------------------------------------------


@dataclass(frozen=True)
class DevSetup:
    host: str
    port: int
    app_env: str
    mongodb_uri: str | None
    plans_file: str
    api_key: str | None  # minted for this run; None when API_KEYS was already configured
    webhook_secret: str | None  # likewise for STRIPE_WEBHOOK_SECRET

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
    """Fill in development defaults for whatever neither `environ` nor `.env` sets."""
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
    try:
        port = int(port_setting)
    except ValueError:
        raise ValueError(f"PORT must be a number, not {port_setting!r}") from None
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
        port=port,
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
    # Owner-only: the file holds a key with every scope.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(credentials, file, indent=2)
        file.write("\n")




def dev_banner(setup: DevSetup) -> str:
    url = setup.base_url
    local = f"localhost:{setup.port}"
    key = setup.api_key or "$API_KEY"
    if setup.mongodb_uri:
        database = redact_uri(setup.mongodb_uri)
    else:
        database = "embedded in-memory engine (MONGODB_URI unset): data is lost on exit"
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
    if setup.api_key or setup.webhook_secret:
        lines.append(f"  (both saved in {DEV_CREDENTIALS_FILE.name} for make demo)")
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


def dev_command(args: argparse.Namespace) -> int:
    # Settings go into os.environ before anything imports app.main (uvicorn imports it by name).
    try:
        setup = prepare_dev_environment(os.environ, _read_dotenv(Path(".env")))
    except ValueError as error:
        raise CommandError(str(error)) from None
    if setup.app_env.strip().lower() == "production":
        print(
            "APP_ENV=production: no development key or webhook secret is minted.",
            file=sys.stderr,
        )
    else:
        write_dev_credentials(setup)
    print(dev_banner(setup), flush=True)

    import uvicorn

    uvicorn.run("app.main:app", host=setup.host, port=setup.port, reload=args.reload)
    return 0



