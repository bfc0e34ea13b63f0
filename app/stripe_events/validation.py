"""The one check between the signature and the handlers: a verified event the handlers could
not use (out-of-range times, missing or malformed ids, wrong types, absurd nesting) is named
here, so it is recorded `failed` with that reason instead of breaking a handler (a 500 that
Stripe would retry for days) or the event log."""

from __future__ import annotations

import json
import re
from typing import Any

from app.kit.errors import InvalidPayload
from app.ledger.schemas import ACCOUNT_ID_PATTERN, is_account_id
from app.stripe_events.payloads import valid_unix

# Webhook payloads are never expanded; the deepest object Stripe publishes (an invoice) is 9
# levels inside the event's 2. Far past that, the payload is not Stripe's.
MAX_DEPTH = 32
MAX_INT64 = 2**63 - 1
# Stripe's ids (evt_, cus_, sub_, in_, pi_, ch_, dp_, cs_ ...): letters, digits, underscores.
STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")

TIME_KEYS = frozenset(
    {
        "created",
        "trial_start",
        "trial_end",
        "cancel_at",
        "canceled_at",
        "ended_at",
        "current_period_start",
        "current_period_end",
        "period_start",
        "period_end",
    }
)
PERIOD_KEYS = frozenset({"start", "end"})  # inside a "period" object
AMOUNT_KEYS = frozenset({"amount", "amount_paid", "amount_refunded", "amount_total"})
REFERENCE_KEYS = frozenset({"customer", "subscription", "payment_intent", "charge"})
TEXT_KEYS = frozenset({"status", "mode", "billing_reason", "payment_status", "type"})


class UnusableEvent(ValueError):
    """What is wrong with a verified event, said so an operator can act on it."""


def parse_event(text: str) -> dict[str, Any]:
    """A verified body as an event with a usable id, or InvalidPayload (400, nothing stored):
    without an id there is nothing to record it under."""
    try:
        event = json.loads(text)
    except RecursionError:
        raise InvalidPayload(f"the body nests deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise InvalidPayload("the body is not valid JSON") from None
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not STRIPE_ID.fullmatch(event["id"])
    ):
        raise InvalidPayload("the body is not a Stripe event: no usable `id`")
    return event


THIN_EVENT = "v2.core.event"


def thin_event_note(event: dict[str, Any]) -> str | None:
    """Why a thin event (an event destination's `"object": "v2.core.event"`) is ignored, or
    None for a snapshot event. A thin event names the changed object but carries none of it
    (no `data.object`, `created` as an RFC 3339 string): nothing in it can be applied."""
    if event.get("object") != THIN_EVENT:
        return None
    return (
        "a thin event (v2.core.event, from an event destination) carries no object to apply: "
        "send this service snapshot events (a webhook endpoint, or a destination whose "
        "payload is snapshot)"
    )


def check_event(event: dict[str, Any]) -> None:
    """Raise UnusableEvent naming the first thing in `event` the handlers cannot use."""
    if not isinstance(event.get("type"), str) or not 1 <= len(event["type"]) <= 255:
        raise UnusableEvent("`type` is missing or not a string")
    if not valid_unix(event.get("created")):
        raise UnusableEvent(
            f"`created` {_short(event.get('created'))} is not a unix time between 1970 and 2106"
        )
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise UnusableEvent("`data.object` is missing or not an object")
    if not isinstance(obj.get("id"), str) or not STRIPE_ID.fullmatch(obj["id"]):
        raise UnusableEvent(
            f"`data.object.id` {_short(obj.get('id'))} is missing or not a Stripe id"
        )
    _check_tree(event)
    _check_account_ids(obj)


def _check_tree(event: dict[str, Any]) -> None:
    """Every field the handlers read has the type Stripe gives it, wherever it is; metadata
    (the product's free text) is not walked."""
    stack: list[tuple[Any, str, int]] = [(event, "", 1)]
    while stack:  # iterative: a deep payload must not exhaust the interpreter's stack here
        node, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UnusableEvent(f"the payload nests deeper than {MAX_DEPTH} levels")
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):  # a field of an object, not an item of a list
                _check_field(key, value, where, in_period=path.endswith("period"))
                if key == "metadata":
                    continue
            if isinstance(value, dict | list):
                stack.append((value, where, depth + 1))


def _check_field(key: str, value: Any, where: str, *, in_period: bool) -> None:
    if value is None:
        return
    if key in TIME_KEYS or (in_period and key in PERIOD_KEYS):
        if not valid_unix(value):
            raise UnusableEvent(
                f"`{where}` {_short(value)} is not a unix time between 1970 and 2106"
            )
    elif key in AMOUNT_KEYS:
        if not _is_int(value) or abs(value) > MAX_INT64:
            raise UnusableEvent(f"`{where}` {_short(value)} is not a 64-bit integer")
    elif key in REFERENCE_KEYS:
        ref = value.get("id") if isinstance(value, dict) else value
        if not isinstance(ref, str) or not STRIPE_ID.fullmatch(ref):
            raise UnusableEvent(f"`{where}` {_short(value)} is not a Stripe id")
    elif key in TEXT_KEYS:
        if not isinstance(value, str) or len(value) > 255:
            raise UnusableEvent(f"`{where}` {_short(value)} is not a short string")
    elif key == "metadata" and not isinstance(value, dict):
        raise UnusableEvent(f"`{where}` is not an object")


def _check_account_ids(obj: dict[str, Any]) -> None:
    """The account ids an event may name, by the API's rule for account ids (a full match:
    no trailing newline, nothing the API could not name)."""
    named = [("data.object.client_reference_id", obj.get("client_reference_id"))]
    for path in (
        ("metadata",),
        ("subscription_details", "metadata"),
        ("parent", "subscription_details", "metadata"),
    ):
        meta = _dig(obj, path)
        if isinstance(meta, dict):
            named.append((f"data.object.{'.'.join(path)}.account_id", meta.get("account_id")))
    for where, value in named:
        if value is not None and not is_account_id(value):
            raise UnusableEvent(
                f"`{where}` {_short(value)} is not a valid account id ({ACCOUNT_ID_PATTERN})"
            )


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(value: Any) -> str:
    """A value for an error message: its repr, cut short (payloads may be large)."""
    text = repr(value) if isinstance(value, str | int | float | bool) else type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."
