"""The sign-in page says only what the service chose: an error is a code from a fixed set,
never text from the URL (a link to the real domain must not put words on its page)."""

from __future__ import annotations

import pytest

from tests.console.helpers import sign_in


@pytest.mark.parametrize(
    "error",
    ["Your account is locked: call +1 555 0100", "refusedx", "<b>hi</b>", "REFUSED"],
)
async def test_text_in_the_url_is_never_shown(client, error):
    page = await client.get("/console/login", params={"error": error})

    assert page.status_code == 200
    assert 'role="alert"' not in page.text
    for word in ("locked", "555", "refusedx", "hi</b>", "REFUSED"):
        assert word not in page.text


async def test_a_refused_key_is_shown_by_its_code(client):
    response = await sign_in(client, "nobody")
    assert response.headers["location"] == "/console/login?error=refused"

    page = await client.get(response.headers["location"])

    assert page.status_code == 401
    assert "Not a service key with events:admin." in page.text
