"""Webhook endpoints: registered through the API, with a signing secret shown once and rotated
with a day of overlap; their delivery log and retries."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import timedelta

from bson import ObjectId

from app.kit.clock import Clock, as_utc
from app.kit.errors import (
    DeliveryInFlight,
    DeliveryNotFound,
    EndpointDisabled,
    EndpointNotFound,
    TooManyEndpoints,
)
from app.kit.paging import page_of
from app.kit.views import view_of
from app.outbox import schemas
from app.outbox.delivery_repository import DeliveryRepository, EndpointRepository
from app.outbox.urls import UrlPolicy
from app.storage.database import Database, Session

ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def endpoint_view(doc: dict) -> schemas.Endpoint:
    return view_of(schemas.Endpoint, doc)


def delivery_view(doc: dict) -> schemas.Delivery:
    log = [schemas.Attempt(**a) for a in doc.get("log") or []]
    return view_of(
        schemas.Delivery,
        doc,
        attempts=doc.get("attempts", 0),
        next_attempt_at=doc.get("next_attempt_at") if doc["status"] == "pending" else None,
        last_attempt=log[-1] if log else None,
        log=log,
    )


def live_secrets(doc: dict, now) -> list[str]:
    """The secrets that sign now: the current one, and during a rotation the previous one."""
    return [
        s["secret"]
        for s in doc["secrets"]
        if s.get("expires_at") is None or as_utc(s["expires_at"]) > now
    ]


class EndpointService:
    def __init__(
        self,
        endpoints: EndpointRepository,
        deliveries: DeliveryRepository,
        policy: UrlPolicy,
        clock: Clock,
        database: Database,
        max_endpoints: int,
    ) -> None:
        self.database = database
        self.max_endpoints = max_endpoints  # each multiplies every event into one more delivery
        self.endpoints = endpoints
        self.deliveries = deliveries
        self.policy = policy
        self.clock = clock

    async def create(self, req: schemas.EndpointCreate) -> schemas.EndpointWithSecret:
        url = await self.policy.check(req.url)
        now = self.clock.now()
        secret = new_secret()
        doc = {
            "_id": f"we_{ObjectId()}",
            "url": url,
            "event_types": _types(req.event_types),
            "description": req.description,
            "disabled": False,
            "disabled_reason": None,
            "failing_since": None,
            "secrets": [{"secret": secret, "expires_at": None}],
            "created_at": now,
            "updated_at": now,
        }

        async def register(session: Session) -> None:
            if await self.endpoints.count_registered(session) >= self.max_endpoints:
                raise TooManyEndpoints(
                    f"at most {self.max_endpoints} webhook endpoints (MAX_WEBHOOK_ENDPOINTS); "
                    "delete one, or have one endpoint take several event types"
                )
            await self.endpoints.insert(doc, session)

        await self.database.transaction(register)
        return schemas.EndpointWithSecret(**endpoint_view(doc).model_dump(), secret=secret)

    async def page(self, *, limit: int, starting_after: str | None) -> schemas.EndpointList:
        docs = await self.endpoints.page(limit=limit, starting_after=starting_after)
        return page_of(schemas.EndpointList, docs, limit, endpoint_view)

    async def get(self, endpoint_id: str) -> schemas.Endpoint:
        return endpoint_view(await self._endpoint(endpoint_id))

    async def update(self, endpoint_id: str, req: schemas.EndpointUpdate) -> schemas.Endpoint:
        await self._endpoint(endpoint_id)
        fields: dict = {}
        sent = req.model_fields_set
        if "url" in sent and req.url is not None:
            fields["url"] = await self.policy.check(req.url)
        if "event_types" in sent:
            fields["event_types"] = _types(req.event_types)
        if "description" in sent:
            fields["description"] = req.description
        if "disabled" in sent and req.disabled is not None:
            fields.update(
                disabled=req.disabled,
                failing_since=None,
                disabled_reason="disabled through the API" if req.disabled else None,
            )
        doc = await self.endpoints.update(endpoint_id, fields, self.clock.now())
        if doc is None:
            raise EndpointNotFound(f"webhook endpoint {endpoint_id!r} not found")
        return endpoint_view(doc)

    async def delete(self, endpoint_id: str) -> None:
        if not await self.endpoints.delete(endpoint_id):
            raise EndpointNotFound(f"webhook endpoint {endpoint_id!r} not found")

    async def rotate_secret(self, endpoint_id: str) -> schemas.EndpointWithSecret:
        doc = await self._endpoint(endpoint_id)
        now = self.clock.now()
        secret = new_secret()
        # The old secret keeps signing beside the new one for a day; older ones are dropped.
        previous = [
            {"secret": s, "expires_at": now + ROTATION_OVERLAP} for s in live_secrets(doc, now)[:1]
        ]
        rotated = await self.endpoints.update(
            endpoint_id, {"secrets": [{"secret": secret, "expires_at": None}, *previous]}, now
        )
        if rotated is None:
            raise EndpointNotFound(f"webhook endpoint {endpoint_id!r} not found")
        return schemas.EndpointWithSecret(**endpoint_view(rotated).model_dump(), secret=secret)

    async def deliveries_page(
        self, endpoint_id: str, *, status: str | None, limit: int, starting_after: str | None
    ) -> schemas.DeliveryPage:
        await self._endpoint(endpoint_id)
        docs = await self.deliveries.page(
            endpoint_id, status=status, limit=limit, starting_after=starting_after
        )
        return page_of(schemas.DeliveryPage, docs, limit, delivery_view)

    async def retry(self, delivery_id: str) -> schemas.Delivery:
        """Send a delivery again now, with a fresh retry schedule (whatever its status)."""
        found = await self.deliveries.get(delivery_id)
        if found is None:
            raise DeliveryNotFound(f"webhook delivery {delivery_id!r} not found")
        endpoint = await self._endpoint(found["endpoint_id"])
        if endpoint["disabled"]:
            raise EndpointDisabled(f"endpoint {endpoint['_id']} is disabled; enable it first")
        requeued = await self.deliveries.requeue(delivery_id, self.clock.now())
        if requeued is None:
            if await self.deliveries.get(delivery_id) is None:  # deleted with its endpoint
                raise DeliveryNotFound(f"webhook delivery {delivery_id!r} not found")
            raise DeliveryInFlight(
                f"webhook delivery {delivery_id} is being sent now; its outcome is in its log "
                "within seconds, and a retry is possible then"
            )
        return delivery_view(requeued)

    async def _endpoint(self, endpoint_id: str) -> dict:
        doc = await self.endpoints.get(endpoint_id)
        if doc is None:
            raise EndpointNotFound(f"webhook endpoint {endpoint_id!r} not found")
        return doc


def _types(event_types: Sequence[str] | None) -> list[str] | None:
    # Empty or absent: every type. Kept in EVENT_TYPES' order, without repeats.
    if not event_types:
        return None
    return [t for t in schemas.EVENT_TYPES if t in set(event_types)]
