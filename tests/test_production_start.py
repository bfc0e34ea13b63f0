"""The production start as the image runs it: a virtual environment built by the Dockerfile's
own install lines (requirements/prod.lock with its hashes, then the service with --no-deps, no
extras), `python -m app serve --workers 2` with no database reachable, then SIGTERM.

The environment is cached under .cache/ by the hash of the lock: only the first run of a lock
installs the dependencies; the service is installed again when its files change."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.kit.config import sha256_hex
from tests.support.ports import free_port

pytestmark = pytest.mark.slow  # builds the image's environment and starts the service

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
CACHE = ROOT / ".cache"
VENV_PIP = "/opt/venv/bin/pip"  # the image's virtual environment, as the Dockerfile names it
# What the image installs, in order: the production lock (hash-checked), then the service
# itself without its dependencies and without any extra (no embedded engine, no dev tools).
IMAGE_INSTALL = [
    ("copy", "requirements/prod.lock", "./"),
    ("pip", "install", "--require-hashes", "-r", "prod.lock"),
    ("copy", "pyproject.toml", "README.md", "./"),
    ("copy", "app", "./app"),
    ("pip", "install", "--no-deps", "."),
]
# Nothing the production path may import: the embedded engine and what it is built on, and
# the development-only Stripe fixtures.
DEV_ONLY = (
    "app.embedded",
    "app.storage.embedded",
    "mongomock",
    "mongomock_motor",
    "stripe_fixtures",
)
KEY = "ck_production_start_test"
GRACEFUL_SECONDS = 10
STARTED = "Application startup complete"
# Nothing listens on port 1: server selection fails fast, as in a pod whose database is not
# up yet; the short timeouts keep each attempt of the waiting start short.
UNREACHABLE_URI = (
    "mongodb://127.0.0.1:1/?replicaSet=rs0&serverSelectionTimeoutMS=300"
    "&connectTimeoutMS=300&timeoutMS=1000"
)


def dockerfile_install_steps() -> list[tuple[str, ...]]:
    """The build stage's COPY and `pip` lines, in order (the stage that ends at the next FROM)."""
    steps: list[tuple[str, ...]] = []
    stages = re.split(r"^FROM ", DOCKERFILE.read_text().replace("\\\n", " "), flags=re.M)
    for line in stages[1].splitlines():
        words = shlex.split(line.strip(), comments=True)
        if words[:1] == ["COPY"]:
            steps.append(("copy", *words[1:]))
        elif words[:2] == ["RUN", VENV_PIP]:
            steps.append(("pip", *words[2:]))
    return steps


def test_the_image_installs_exactly_what_the_production_start_test_installs():
    assert dockerfile_install_steps() == IMAGE_INSTALL


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


def _run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{shlex.join(command)} failed:\n{done.stdout}\n{done.stderr}"


def _replay(venv: Path, steps: list[tuple[str, ...]]) -> None:
    """Replay install steps of the image: COPY into a build directory, pip in the venv."""
    build = venv / "build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir()
    for step in steps:
        if step[0] == "copy":
            *sources, target = step[1:]
            for source in sources:
                into = build / target
                destination = into / Path(source).name if target.endswith("/") else into
                if (ROOT / source).is_dir():
                    ignore = shutil.ignore_patterns("__pycache__")
                    shutil.copytree(ROOT / source, destination, ignore=ignore)
                else:
                    shutil.copyfile(ROOT / source, destination)
        else:
            _run([str(venv / "bin" / "python"), "-m", "pip", *step[1:]], build)
    shutil.rmtree(build)


def _copied(steps: list[tuple[str, ...]]) -> list[Path]:
    return [ROOT / source for step in steps if step[0] == "copy" for source in step[1:-1]]


@pytest.fixture(scope="session")
def production_python() -> Path:
    """A venv holding what the image holds. Its dependencies (the steps up to the lock's
    install) are cached by the hash of the lock; the service is installed again, as the
    image's last step does, whenever the files it copies change."""
    steps = dockerfile_install_steps()
    split = next(i for i, step in enumerate(steps) if step[0] == "pip") + 1
    dependencies, service = steps[:split], steps[split:]
    name = f"prod-venv-{_fingerprint(_copied(dependencies))}"
    venv = CACHE / name
    installed = venv / f".service-{_fingerprint(_copied(steps))}"
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / "prod-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time, however many runs start
        if not (venv / "bin" / "python").exists():
            for old in CACHE.glob("prod-venv-*"):
                shutil.rmtree(old)
            partial = CACHE / f"{name}.partial"
            try:
                _run([sys.executable, "-m", "venv", str(partial)], ROOT)
                _replay(partial, dependencies)
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
            partial.rename(venv)  # complete or absent (only `python -m` runs from it)
        if not installed.exists():
            for old in venv.glob(".service-*"):
                old.unlink()
            _replay(venv, service)
            installed.touch()
    return venv / "bin" / "python"


def _environment(tmp_path: Path, **values: str) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        MONGODB_URI=UNREACHABLE_URI,
        STRIPE_WEBHOOK_SECRET="whsec_production_start_test",
        API_KEYS=json.dumps(
            [{"name": "test", "sha256": sha256_hex(KEY), "scopes": ["credits:debit"]}]
        ),
        # The image sets it too: the catalog is not inside the installed package.
        PLANS_FILE=str(ROOT / "plans.example.toml"),
        HOST="127.0.0.1",
        GRACEFUL_TIMEOUT=str(GRACEFUL_SECONDS),
        HOME=str(tmp_path),
    )
    env.update(values)
    return env


def test_importing_the_app_in_production_loads_nothing_of_the_embedded_engine(
    production_python, tmp_path
):
    script = (
        "import json, sys\n"
        "import app.cli, app.http.app\n"
        "application = app.http.app.create_app()\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [str(production_python), "-c", script],
        cwd=tmp_path,  # no .env, and not the repository: the installed package is imported
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert "app.http.app" in loaded and "pymongo" in loaded
    assert not [m for m in loaded if m.split(".")[0] in DEV_ONLY or m.startswith(DEV_ONLY)]


def _read_until(stream, needle: str, times: int, deadline: float) -> str:
    """What the server wrote until `needle` appeared `times` times (or it ended, or time is up).
    Reads the file descriptor itself: a buffered readline would hide lines from select()."""
    seen = b""
    while seen.count(needle.encode()) < times and time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], deadline - time.monotonic())
        chunk = os.read(stream.fileno(), 65536) if ready else b""
        if not chunk:
            break
        seen += chunk
    return seen.decode()


def _healthz_pids(base: str, attempts: int = 200) -> set[int]:
    """Ask /healthz on new connections until two different processes answered: the kernel
    hands each connection to one of the workers accepting on the shared socket."""
    pids: set[int] = set()
    for _ in range(attempts):
        answer = httpx.get(f"{base}/healthz", timeout=5)
        assert answer.status_code == 200, answer.text
        pids.add(answer.json()["pid"])
        if len(pids) == 2:
            break
    return pids


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_serve_with_two_workers_and_no_database_answers_503_then_stops_on_sigterm(
    production_python, tmp_path
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(production_python), "-m", "app", "serve", "--workers", "2"],
        cwd=tmp_path,
        env=_environment(tmp_path, PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    started = ""
    try:
        # Each worker completes its start-up (the database's absence does not stop it).
        started = _read_until(process.stdout, STARTED, 2, time.monotonic() + 120)
        pids = _healthz_pids(base)
        ready = httpx.get(f"{base}/readyz", timeout=5)
        debit = httpx.post(
            f"{base}/v1/accounts/user_1/debits",
            json={"amount": 1},
            headers={"Authorization": f"Bearer {KEY}", "Idempotency-Key": "job-1"},
            timeout=5,
        )
        webhook = httpx.post(
            f"{base}/webhooks/stripe",
            content=b"{}",
            headers={"Stripe-Signature": "t=1,v1=00"},
            timeout=5,
        )
    finally:
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            rest, _ = process.communicate(timeout=GRACEFUL_SECONDS + 20)
        finally:
            process.kill()
    stopped_in = time.monotonic() - stopping
    log = started + rest.decode()

    assert len(pids) == 2 and process.pid not in pids, log
    assert "production rules (APP_ENV unset: serve's default)" in log.splitlines()[0], log
    assert ready.status_code == 503, ready.text
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.json()["code"] == "not_ready" and ready.json()["missing"] == ["database"]
    for answer in (debit, webhook):
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "database_unavailable"
        assert "retry-after" in answer.headers
    # SIGTERM: every worker finishes its shutdown, the parent exits 0, nothing is left.
    assert process.returncode == 0, log
    assert stopped_in < GRACEFUL_SECONDS, log
    assert log.count("Application shutdown complete") == 2, log
    assert all(_gone(pid) for pid in pids), log
    assert "Traceback" not in log, log
