"""The console's outgoing webhooks page: endpoints, failing deliveries, Retry."""

from __future__ import annotations

from tests.console.helpers import hidden, sign_in
from tests.events.helpers import deliveries, register
from tests.factories import make_account


async def test_failing_deliveries_are_listed_with_retry_which_sends_them_again(
    app, client, receiver
):
    endpoint = await register(client, receiver)
    receiver.default = 500
    await make_account(client, "user_1", 10)
    await app.state.services.dispatcher.run_once()
    (pending,) = await deliveries(client, endpoint["id"], status="pending")
    await sign_in(client)
    page = await client.get("/console/webhooks")
    assert page.status_code == 200
    assert endpoint["id"] in page.text and receiver.url in page.text
    failing = page.text[page.text.index('id="failing"') :]
    assert pending["id"] in failing and "credits.granted" in failing
    assert endpoint.get("secret", "no-secret-shown") not in page.text

    receiver.default = 200
    csrf = hidden(page.text, "csrf_token")
    assert (
        await client.post(f"/console/webhooks/deliveries/{pending['id']}/retry", data={})
    ).status_code == 403
    retried = await client.post(
        f"/console/webhooks/deliveries/{pending['id']}/retry", data={"csrf_token": csrf}
    )
    assert retried.status_code == 303 and "notice=" in retried.headers["location"]
    await app.state.services.dispatcher.run_once()
    assert [d["id"] for d in await deliveries(client, endpoint["id"], status="succeeded")] == [
        pending["id"]
    ]
    assert "No failing delivery." in (await client.get("/console/webhooks")).text


async def test_retry_of_an_unknown_delivery_says_so(client, receiver):
    await sign_in(client)
    page = await client.get("/console/webhooks")
    answer = await client.post(
        "/console/webhooks/deliveries/whd_" + "0" * 24 + "/retry",
        data={"csrf_token": hidden(page.text, "csrf_token")},
    )
    assert "error=retry+refused" in answer.headers["location"]
