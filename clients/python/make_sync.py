"""Writes credit_ledger_client/_sync.py from _async.py, and _sync_batching.py from
_async_batching.py, with unasync (python-trio's token rewriter, pinned in
requirements/dev.lock): the sync client and batcher are the async ones' code without
`async`/`await`, so the two cannot drift. `make client-sync` runs it; a test fails while a
committed file differs from what it writes."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from unasync import Rule, unasync_files

PACKAGE = Path(__file__).resolve().parent / "credit_ledger_client"

# Each async module, the sync module made from it, and the sync module's docstring.
MADE = {
    "_async.py": (
        "_sync.py",
        '''"""CreditLedger: the sync client, and its hold context manager. Made from _async.py by
unasync (`make client-sync`): edit that file, then run it."""
''',
    ),
    "_async_batching.py": (
        "_sync_batching.py",
        '''"""UsageBatcher: the sync batcher, its time flush on a timer thread. Made from
_async_batching.py by unasync (`make client-sync`): edit that file, then run it."""
''',
    ),
}

# Names unasync does not map itself (it knows __aenter__, AsyncIterator and the like).
RENAMES = {
    "AsyncCreditLedger": "CreditLedger",
    "AsyncHold": "Hold",
    "AsyncUsageBatcher": "UsageBatcher",
    "AsyncClient": "Client",  # httpx's
    "AsyncSleep": "Sleep",
    "aclose": "close",
    "asyncio": "time",  # `import asyncio`, `asyncio.sleep`
    "_async": "_sync",  # the modules themselves
    "_async_batching": "_sync_batching",
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
    ("`async with ledger.batcher(max_records", "`with ledger.batcher(max_records"),
    ("    await usage.add(", "    usage.add("),
]


def sync_module(source: str, name: str = "_async.py") -> str:
    """The text of the sync module made from `source` (the async module `name`'s), formatted
    as the tree is."""
    target, header = MADE[name]
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / name).write_text(source)
        rule = Rule(name, target, additional_replacements=RENAMES)
        unasync_files([str(Path(folder) / name)], [rule])
        made = (Path(folder) / target).read_text()
    body = made.split('"""\n', 1)[1]  # after the module's docstring
    for old, new in PROSE:
        body = body.replace(old, new)
    # Imports sorted again (asyncio became time), and `yield from` where a loop only yields.
    fix = ("check", "--fix", "--select", "I,UP028", "--unsafe-fixes")
    fixed = _ruff(*fix, path=PACKAGE / target, text=header + body)
    return _ruff("format", path=PACKAGE / target, text=fixed)


def _ruff(*command: str, path: Path, text: str) -> str:
    # ruff reads the tree's settings for this path
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--stdin-filename", str(path), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def main() -> None:
    for name, (target, _) in MADE.items():
        (PACKAGE / target).write_text(sync_module((PACKAGE / name).read_text(), name))


if __name__ == "__main__":
    main()
