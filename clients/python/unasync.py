"""Writes credit_ledger_client/_sync.py from _async.py: the sync client is the async one's
code without async, so the two cannot drift. Run it after editing _async.py:
`python clients/python/unasync.py` (a test checks the file is up to date)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent / "credit_ledger_client"

HEADER = '''"""CreditLedger: the sync client, and its hold context manager. Made from _async.py by
clients/python/unasync.py: edit that file, then run it."""
'''

# (pattern, replacement), regular expressions applied in order.
RULES = [
    (r"AsyncIterator, Awaitable, Callable", "Callable, Iterator"),
    (r"for item in found\.data:\n\s+yield item", "yield from found.data"),
    (r"async with", "with"),
    (r"async for", "for"),
    (r"async def", "def"),
    (r"await ", ""),
    (r"AsyncCreditLedger", "CreditLedger"),
    (r"AsyncHold", "Hold"),
    (r"AsyncUsageBatcher", "UsageBatcher"),
    (r"AsyncIterator", "Iterator"),
    (r"__aenter__", "__enter__"),
    (r"__aexit__", "__exit__"),
    (r"aclose", "close"),
    (r"httpx\.AsyncClient", "httpx.Client"),
    (r"Callable\[\[float\], Awaitable\[Any\]\]", "Callable[[float], Any]"),
    (r"asyncio\.sleep", "time.sleep"),
    (r"import asyncio\n", ""),
    (r"import contextlib\n", "import contextlib\nimport time\n"),
    (r"`async with`", "`with`"),
]


def unasync(source: str) -> str:
    """The sync module's text, formatted by ruff as the tree is."""
    body = source.split('"""\n', 1)[1]  # after the module's docstring
    for pattern, replacement in RULES:
        body = re.sub(pattern, replacement, body)
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", "_sync.py", "-"],
        input=HEADER + body,
        capture_output=True,
        text=True,
        check=True,
    )
    return formatted.stdout


def main() -> None:
    (PACKAGE / "_sync.py").write_text(unasync((PACKAGE / "_async.py").read_text()))


if __name__ == "__main__":
    main()
