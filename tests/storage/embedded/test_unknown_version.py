"""On a mongomock version app/storage/embedded/internals.py was not written for, the engine
touches nothing private: it runs on mongomock's public collection methods, its speed-ups off,
and keeps every rule. Here in a process that sees mongomock 9.9.9: the engine's own tests, the
same-key races under seeded turns and the debits, with /v1/admin/verify after each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import importlib.metadata as metadata, sys
real = metadata.version
metadata.version = lambda package: "9.9.9" if package == "mongomock" else real(package)
from app.storage.embedded import internals
assert not internals.PRIVATE, "the private paths are on"
import pytest
code = pytest.main(["-p", "no:cacheprovider", "-x", *sys.argv[1:]])
from mongomock.collection import Collection
assert not hasattr(Collection, "_original_iter_documents"), "mongomock was patched"
print("public paths only:", code)
sys.exit(code)
"""


@pytest.mark.slow  # a subprocess running a share of the suite
def test_an_unknown_mongomock_version_runs_on_mongomock_s_public_paths():
    env = {**os.environ, "INTERLEAVING_SEEDS": "5"}
    env.pop("MONGODB_TEST_URI", None)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            "tests/storage/test_transactions.py",
            "tests/ledger/test_same_key_races.py",
            "tests/ledger/test_debits.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "public paths only: 0" in done.stdout
