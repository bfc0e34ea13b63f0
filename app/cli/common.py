"""What every command shares: the scopes, the repo paths, the command error."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.kit.config import Settings

# The five scopes, listed here rather than imported from app.http.auth so that minting a
# key never loads the application or its settings.
SCOPES: tuple[str, ...] = (
    "credits:read",
    "credits:debit",
    "credits:reserve",
    "credits:grant",
    "events:admin",
)
KEY_PREFIX = "ck_"
DEV_WEBHOOK_SECRET_PREFIX = "whsec_dev_"
# Letters, digits and a little punctuation: the name lands inside a single-quoted shell line.
KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}")


def _repo_root() -> Path:
    source_root = Path(__file__).resolve().parents[2]  # app/cli/common.py -> the repo
    return source_root if (source_root / "pyproject.toml").is_file() else Path.cwd()


ROOT = _repo_root()
DEV_CREDENTIALS_FILE = ROOT / ".dev-credentials.json"
EXAMPLE_PLANS_FILE = ROOT / "plans.example.toml"


class CommandError(Exception):
    """A mistake in the command line: reported in one line, exit status 2."""


def redact_uri(uri: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", uri)


def command_settings() -> Settings:
    """The service's settings from the environment; a bad one is the command's error."""
    from app.kit.config import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as error:
        raise CommandError(str(error)) from None


def require_database(settings: Settings, why: str) -> str:
    """MONGODB_URI, which a command on the service's data needs (`why`: why not the embedded
    engine)."""
    if not settings.mongodb_uri:
        raise CommandError(f"MONGODB_URI is not set: {why}")
    return settings.mongodb_uri


def database_failed(error: Exception, doing: str) -> int:
    """Say (without the URI's credentials) that the database could not be used; exit 1."""
    reason = redact_uri(str(error)).splitlines()[0][:300]
    print(
        f"cannot {doing} the database at MONGODB_URI ({type(error).__name__}): {reason}",
        file=sys.stderr,
    )
    return 1
