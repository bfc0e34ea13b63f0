"""The `event` envelope every webhook arrives in: `data.object` is the object it is about."""

from __future__ import annotations

from typing import Any

from stripe_fixtures.common import API_VERSION, Layout, Obj, new_id


def envelope(
    type: str,
    obj: Obj,
    *,
    event_id: str,
    api_version: str,
    created: int,
    livemode: bool = False,
    previous_attributes: dict[str, Any] | None = None,
) -> Obj:
    data: Obj = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": event_id,
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": data,
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def event(
    layout: Layout,
    type: str,
    obj: Obj,
    *,
    created: int,
    livemode: bool = False,
    previous_attributes: Obj | None = None,
) -> Obj:
    """An event around an object of the multi-line builders, at `layout`'s API version."""
    return envelope(
        type,
        obj,
        event_id=new_id("evt"),
        api_version=API_VERSION[layout],
        created=created,
        livemode=livemode,
        previous_attributes=previous_attributes,
    )
