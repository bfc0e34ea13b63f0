"""What ships: the image and compose file name exact versions, the locks pin every dependency
(the embedded engine only in the dev lock), CI installs from the lock, and the compose stack's
documented settings start in production."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from dotenv import dotenv_values

from app.auth import Authenticator
from app.config import load_settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_KEY = "ck_local_compose_only_do_not_deploy"


def pinned(lock: str) -> dict[str, str]:
    lines = (ROOT / "requirements" / lock).read_text().splitlines()
    reqs = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[A-Za-z0-9_.+!-]+", r) for r in reqs), reqs
    return {_name(r.split("==")[0]): r.split("==")[1] for r in reqs}


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
    assert "pip install -r $(LOCK)" in makefile
    assert "--no-deps -e '.[dev,embedded]' -e $(CLIENT)" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_image_pins_its_base_installs_the_production_lock_and_serves():
    dockerfile = (ROOT / "Dockerfile").read_text()

    bases = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert bases and all(
        re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+( AS \w+)?", b) for b in bases
    ), bases
    assert "pip install -r prod.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile
    assert "APP_ENV=production" in dockerfile
    assert 'CMD ["python", "-m", "app", "serve"]' in dockerfile


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
