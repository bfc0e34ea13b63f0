"""`python -m app serve` runs under the production rules unless its caller sets APP_ENV. Those
rules are one switch (`APP_ENV=production`): the settings a start needs, and the webhook URL
policy (https only, global addresses only, the checked address pinned), whose production
behaviour tests/events/test_url_policy.py covers. Here: serve without APP_ENV is under them."""

from __future__ import annotations

import json
import subprocess

import pytest

from app.kit.config import sha256_hex
from tests.support.ports import free_port
from tests.test_startup import start

pytestmark = pytest.mark.slow  # starts the service in a subprocess

KEYS = json.dumps([{"name": "w", "sha256": sha256_hex("key-w"), "scopes": ["events:admin"]}])


def test_serve_without_app_env_applies_the_production_rules(tmp_path):
    process = start(
        tmp_path,
        "serve",
        PORT=str(free_port()),
        HOST="127.0.0.1",
        API_KEYS=KEYS,
        STRIPE_WEBHOOK_SECRET="whsec_serve_default",
    )
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        raise AssertionError(f"serve ran under development rules:\n{stderr}") from None

    assert process.returncode == 2, stderr
    assert "APP_ENV=production refuses to start without MONGODB_URI" in stderr
