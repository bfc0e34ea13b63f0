"""What ships: the image and compose file name exact versions, the locks pin every dependency
(the embedded engine only in the dev lock), CI installs from the lock, and the compose stack's
documented settings start in production."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest
from dotenv import dotenv_values

from app.http.auth import Authenticator
from app.kit.config import load_settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_KEY = "ck_local_compose_only_do_not_deploy"


def pinned(lock: str) -> dict[str, str]:
    """name -> version of every requirement of a lock; each is `name==version` followed by
    the hashes of its files (pip installs the locks with --require-hashes)."""
    text = (ROOT / "requirements" / lock).read_text()
    # One requirement per entry: its line and the continuation lines that follow it.
    entries = [
        " ".join(e.split()).replace("\\ ", "")
        for e in re.split(r"\n(?=[A-Za-z])", "\n" + text)
        if e.strip() and not e.lstrip().startswith("#")
    ]
    pins = {}
    for entry in entries:
        head, *hashes = entry.split(" --hash=")
        assert re.fullmatch(r"[A-Za-z0-9_.-]+==[A-Za-z0-9_.+!-]+", head), entry
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h.split()[0]) for h in hashes)
        pins[_name(head.split("==")[0])] = head.split("==")[1]
    return pins


def _name(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(*extras: str) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    for extra in extras:
        names |= {_name(r) for r in project["optional-dependencies"][extra]}
    return names


def test_the_production_lock_pins_every_runtime_dependency_and_no_embedded_engine():
    prod = pinned("prod.lock")

    assert declared() <= set(prod)
    assert not {"mongomock", "mongomock-motor", "pytest", "schemathesis"} & set(prod)


def test_the_dev_lock_pins_the_runtime_the_embedded_engine_and_the_dev_tools():
    dev, prod = pinned("dev.lock"), pinned("prod.lock")

    assert declared("embedded", "dev") <= set(dev)
    # One version of each package, whichever lock installs it.
    assert {name: dev[name] for name in prod} == prod


def test_make_and_ci_install_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()

    assert "LOCK := requirements/dev.lock" in makefile
    assert "pip install --require-hashes -r $(LOCK)" in makefile
    assert "--no-deps -e '.[dev,embedded]' -e $(CLIENT)" in makefile
    assert "--generate-hashes" in makefile  # make lock
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_image_pins_its_base_installs_the_production_lock_and_serves():
    dockerfile = (ROOT / "Dockerfile").read_text()

    bases = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert bases and all(
        re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+( AS \w+)?", b) for b in bases
    ), bases
    assert "pip install --require-hashes -r prod.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile
    assert "APP_ENV=production" in dockerfile
    assert 'CMD ["python", "-m", "app", "serve"]' in dockerfile
    # A numeric user (not root): what Kubernetes' runAsNonRoot can verify.
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users == ["10001:10001"]


def test_the_build_backend_is_pinned():
    for pyproject in (ROOT / "pyproject.toml", ROOT / "clients" / "python" / "pyproject.toml"):
        requires = tomllib.loads(pyproject.read_text())["build-system"]["requires"]
        assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9.]+", r) for r in requires), requires


def _context_ignores(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (its last matching line
    wins; a line naming a directory covers what is inside it)."""
    ignored = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pattern = line.removeprefix("!")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        candidates = prefixes + [p for p in parts] if pattern.startswith("**/") else prefixes
        if any(fnmatch.fnmatchcase(c, pattern.removeprefix("**/")) for c in candidates):
            ignored = not line.startswith("!")
    return ignored


def test_the_build_context_holds_what_the_image_copies_and_no_secret_or_cache():
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = [
        source
        for args in re.findall(r"^COPY (?!--from)(.+)$", dockerfile, re.MULTILINE)
        for source in args.split()[:-1]
    ]
    assert copied and not [path for path in copied if _context_ignores(path)]
    assert not _context_ignores("app/http/app.py")
    for kept_out in (
        ".venv/bin/python",
        ".env",
        ".dev-credentials.json",
        ".git/config",
        ".cache/prod-venv-0/bin/python",
        ".mypy_cache/3.11/app.json",
        "app/__pycache__/main.cpython-311.pyc",
        "requirements/dev.lock",
        "tests/conftest.py",
    ):
        assert _context_ignores(kept_out), kept_out


def test_compose_names_exact_image_versions():
    compose = (ROOT / "docker-compose.yml").read_text()

    images = re.findall(r"^\s+image:\s*(\S+)", compose, re.MULTILINE)
    assert len(images) == 2
    assert all(re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+", image) for image in images), images


@pytest.fixture
def compose_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no developer's .env
    for name, value in dotenv_values(ROOT / "deploy" / "compose.env").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("MONGODB_URI", "mongodb://mongo:27017/?replicaSet=rs0")


def test_the_compose_stack_starts_in_production_with_its_documented_key(compose_environment):
    settings = load_settings()

    assert settings.app_env == "production"
    principal = Authenticator(settings).authenticate(COMPOSE_KEY)
    assert principal.name == "compose-local"
    assert COMPOSE_KEY in (ROOT / "README.md").read_text()
