"""Writes credit_ledger_client/_sync.py from _async.py with unasync (python-trio's token
rewriter, pinned in requirements/dev.lock): the sync client is the async one's code without
`async`/`await`, so the two cannot drift. `make client-sync` runs it; a test fails while the
committed file differs from what it writes."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from unasync import Rule, unasync_files

PACKAGE = Path(__file__).resolve().parent / "credit_ledger_client"

HEADER = '''"""CreditLedger: the sync client, and its hold context manager. Made from _async.py by
unasync (`make client-sync`): edit that file, then run it."""
'''

# Names unasync does not map itself (it knows __aenter__, AsyncIterator and the like).
RENAMES = {
    "AsyncCreditLedger": "CreditLedger",
    "AsyncHold": "Hold",
    "AsyncUsageBatcher": "UsageBatcher",
    "AsyncClient": "Client",  # httpx's
    "AsyncSleep": "Sleep",
    "aclose": "close",
    "asyncio": "time",  # `import asyncio`, `asyncio.sleep`
}

# unasync rewrites code, not sentences: the docstrings' examples, in the order they appear.
PROSE = [
    ("`AsyncCreditLedger(", "`CreditLedger("),
    ("`async with`", "`with`"),
    ("`aclose()`", "`close()`"),
    ("`async with ledger.hold(", "`with ledger.hold("),
    ("await hold.capture(", "hold.capture("),
    ("`async with ledger.batcher()", "`with ledger.batcher()"),
    ("as usage: await\n", "as usage:\n"),
]


def sync_module(source: str) -> str:
    """The sync module's text for `source` (the async module's), formatted as the tree is."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "_async.py").write_text(source)
        rule = Rule("_async.py", "_sync.py", additional_replacements=RENAMES)
        unasync_files([str(Path(folder) / "_async.py")], [rule])
        made = (Path(folder) / "_sync.py").read_text()
    body = made.split('"""\n', 1)[1]  # after the module's docstring
    for old, new in PROSE:
        body = body.replace(old, new)
    # Imports sorted again (asyncio became time), and `yield from` where a loop only yields.
    fixed = _ruff("check", "--fix", "--select", "I,UP028", "--unsafe-fixes", text=HEADER + body)
    return _ruff("format", text=fixed)


def _ruff(*command: str, text: str) -> str:
    target = str(PACKAGE / "_sync.py")  # ruff reads the tree's settings for this path
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--stdin-filename", target, "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def main() -> None:
    (PACKAGE / "_sync.py").write_text(sync_module((PACKAGE / "_async.py").read_text()))


if __name__ == "__main__":
    main()
