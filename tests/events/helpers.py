"""Reading outgoing events back through the pull API."""

from __future__ import annotations

from tests.support.settings import auth


async def events_of(
    client, account_id: str | None = None, who: str = "reader", **params
) -> list[dict]:
    """Every event of the list (one account's, or all), oldest first, paged with the cursor."""
    found: list[dict] = []
    cursor = None
    while True:
        query = {"limit": 100, **params}
        if account_id is not None:
            query["account_id"] = account_id
        if cursor:
            query["starting_after"] = cursor
        response = await client.get("/v1/events", params=query, headers=auth(who))
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["data"]
        if not page["has_more"]:
            return found
        cursor = page["next_cursor"]


async def types_of(client, account_id: str, **params) -> list[str]:
    return [e["type"] for e in await events_of(client, account_id, **params)]


async def set_threshold(client, account_id: str, value: int | None):
    return await client.put(
        f"/v1/accounts/{account_id}/alerts",
        json={"low_balance_threshold": value},
        headers=auth("granter"),
    )


def assert_numbered(events: list[dict]) -> None:
    """An account's events are numbered 1, 2, 3 ... without gaps, in list order."""
    assert [e["account_seq"] for e in events] == list(range(1, len(events) + 1))


async def register(client, receiver, path: str = "/hook", **body) -> dict:
    """Register the receiver as an endpoint; it then verifies with the secret shown once."""
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": receiver.url + path, **body}, headers=auth("events")
    )
    assert response.status_code == 201, response.text
    endpoint = response.json()
    receiver.secrets[path] = [endpoint["secret"]]
    return endpoint


async def deliveries(client, endpoint_id: str, **params) -> list[dict]:
    response = await client.get(
        f"/v1/webhook-endpoints/{endpoint_id}/deliveries",
        params={"limit": 100, **params},
        headers=auth("events"),
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def next_due(db):
    """When the earliest pending delivery is due (None when nothing is pending)."""
    found = await db["webhook_deliveries"].find_one(
        {"status": "pending"}, sort=[("next_attempt_at", 1)]
    )
    return None if found is None else found["next_attempt_at"]
