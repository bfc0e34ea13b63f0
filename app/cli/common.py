"""What every command shares: the scopes, the repo paths, the command error."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

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
