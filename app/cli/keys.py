"""python -m app keys new: mint a service API key, print it once with its API_KEYS entry."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import secrets
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from app.cli.common import KEY_NAME, KEY_PREFIX, SCOPES, CommandError

if TYPE_CHECKING:
    pass

# --- API keys -------------------------------------------------------------------------------


def parse_scopes(values: str | Iterable[str]) -> list[str]:
    """Scopes from space- or comma-separated words (`all` means every scope), in SCOPES' order."""
    if isinstance(values, str):
        values = [values]
    words = [word for value in values for word in re.split(r"[\s,]+", value) if word]
    if not words:
        raise ValueError(f"at least one scope is required; choose from {', '.join(SCOPES)}, all")
    chosen: set[str] = set()
    for word in words:
        if word == "all":
            chosen.update(SCOPES)
        elif word in SCOPES:
            chosen.add(word)
        else:
            raise ValueError(f"unknown scope {word!r}; choose from {', '.join(SCOPES)}, all")
    return [scope for scope in SCOPES if scope in chosen]


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_api_key(name: str, scopes: str | Iterable[str]) -> tuple[str, dict[str, Any]]:
    """A fresh random key and its `API_KEYS` entry, which keeps only the key's hash."""
    if not KEY_NAME.fullmatch(name):
        raise ValueError(
            f"invalid key name {name!r}: 1-64 letters, digits or . _ : @ -, "
            "starting with a letter or digit"
        )
    entry_scopes = parse_scopes(scopes)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, {"name": name, "sha256": hash_api_key(key), "scopes": entry_scopes}


def api_keys_line(entries: Sequence[Mapping[str, Any]]) -> str:
    """`API_KEYS='[...]'`, ready for a shell or a `.env` file."""
    return "API_KEYS=" + shlex.quote(json.dumps(list(entries)))


def keys_new_command(args: argparse.Namespace) -> int:
    try:
        key, entry = new_api_key(args.name, args.scopes)
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(f"New API key {entry['name']!r} (shown once: it will not be shown again):")
    print()
    print(f"    {key}")
    print()
    print("Its API_KEYS entry (only the hash is stored; add it to the list in API_KEYS):")
    print()
    print(f"    {json.dumps(entry)}")
    print()
    print("Or, as the only key, paste this line into .env or your shell:")
    print()
    print(f"    {api_keys_line([entry])}")
    return 0
