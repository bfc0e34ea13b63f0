"""Outgoing webhooks: endpoints, their secrets, deliveries and retries (events:admin)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, Response

from app.http.auth import require
from app.http.deps import EndpointsDep
from app.http.routes.common import PageSize, api_router
from app.kit.config import Scope
from app.outbox import schemas

# Every operation here needs events:admin.
router = api_router(tags=["webhook endpoints"], dependencies=[require(Scope.events_admin)])

EndpointId = Annotated[str, Path(pattern=schemas.ENDPOINT_ID_PATTERN)]


@router.post(
    "/v1/webhook-endpoints",
    status_code=201,
    response_model=schemas.EndpointWithSecret,
    operation_id="createWebhookEndpoint",
)
async def create_endpoint(body: schemas.EndpointCreate, endpoints: EndpointsDep):
    return await endpoints.create(body)


@router.get(
    "/v1/webhook-endpoints",
    response_model=schemas.EndpointList,
    operation_id="listWebhookEndpoints",
)
async def list_endpoints(
    endpoints: EndpointsDep,
    limit: PageSize = 20,
    starting_after: Annotated[str | None, Query(pattern=schemas.ENDPOINT_ID_PATTERN)] = None,
):
    return await endpoints.page(limit=limit, starting_after=starting_after)


@router.get(
    "/v1/webhook-endpoints/{endpoint_id}",
    response_model=schemas.Endpoint,
    operation_id="getWebhookEndpoint",
)
async def get_endpoint(endpoint_id: EndpointId, endpoints: EndpointsDep):
    return await endpoints.get(endpoint_id)


@router.patch(
    "/v1/webhook-endpoints/{endpoint_id}",
    response_model=schemas.Endpoint,
    operation_id="updateWebhookEndpoint",
)
async def update_endpoint(
    endpoint_id: EndpointId,
    body: schemas.EndpointUpdate,
    endpoints: EndpointsDep,
):
    return await endpoints.update(endpoint_id, body)


@router.delete(
    "/v1/webhook-endpoints/{endpoint_id}", status_code=204, operation_id="deleteWebhookEndpoint"
)
async def delete_endpoint(endpoint_id: EndpointId, endpoints: EndpointsDep):
    await endpoints.delete(endpoint_id)
    return Response(status_code=204)


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
    response_model=schemas.EndpointWithSecret,
    operation_id="rotateWebhookEndpointSecret",
)
async def rotate_secret(endpoint_id: EndpointId, endpoints: EndpointsDep):
    return await endpoints.rotate_secret(endpoint_id)


@router.get(
    "/v1/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=schemas.DeliveryPage,
    operation_id="listWebhookDeliveries",
)
async def list_deliveries(
    endpoint_id: EndpointId,
    endpoints: EndpointsDep,
    status: Annotated[Literal["pending", "succeeded", "failed"] | None, Query()] = None,
    limit: PageSize = 20,
    starting_after: Annotated[str | None, Query(pattern=schemas.DELIVERY_ID_PATTERN)] = None,
):
    return await endpoints.deliveries_page(
        endpoint_id, status=status, limit=limit, starting_after=starting_after
    )


@router.post(
    "/v1/webhook-deliveries/{delivery_id}/retry",
    response_model=schemas.Delivery,
    operation_id="retryWebhookDelivery",
)
async def retry_delivery(
    delivery_id: Annotated[str, Path(pattern=schemas.DELIVERY_ID_PATTERN)],
    endpoints: EndpointsDep,
):
    return await endpoints.retry(delivery_id)
