"""Operation ids are chosen by hand and stable: SDKs generated from /openapi.json (the
TypeScript client among them) name their methods after them, so a rename breaks callers."""

from __future__ import annotations

import re

# Every operation's id. Adding an operation adds a line; changing a line breaks SDKs.
OPERATION_IDS = {
    "GET /healthz": "checkLiveness",
    "GET /readyz": "checkReadiness",
    "GET /metrics": "getMetrics",
    "GET /v1/accounts": "listAccounts",
    "GET /v1/accounts/{account_id}": "getAccount",
    "PATCH /v1/accounts/{account_id}": "updateAccount",
    "GET /v1/accounts/{account_id}/grants": "listGrants",
    "POST /v1/accounts/{account_id}/grants": "createGrant",
    "GET /v1/accounts/{account_id}/ledger": "listLedgerEntries",
    "GET /v1/accounts/{account_id}/balance": "getBalanceAt",
    "GET /v1/accounts/{account_id}/access": "checkAccess",
    "POST /v1/accounts/{account_id}/debits": "createDebit",
    "GET /v1/accounts/{account_id}/reservations": "listReservations",
    "POST /v1/accounts/{account_id}/reservations": "createReservation",
    "GET /v1/accounts/{account_id}/usage": "getUsage",
    "GET /v1/accounts/{account_id}/timeline": "getTimeline",
    "POST /v1/accounts/{account_id}/adjustments": "createAdjustment",
    "POST /v1/grants/{grant_id}/void": "voidGrant",
    "PATCH /v1/grants/{grant_id}": "updateGrant",
    "GET /v1/accounts/{account_id}/alerts": "getAlerts",
    "PUT /v1/accounts/{account_id}/alerts": "setAlerts",
    "GET /v1/accounts/{account_id}/auto-topup": "getAutoTopup",
    "PUT /v1/accounts/{account_id}/auto-topup": "setAutoTopup",
    "GET /v1/accounts/{account_id}/topups": "listTopups",
    "GET /v1/reservations/{reservation_id}": "getReservation",
    "POST /v1/reservations/{reservation_id}/capture": "captureReservation",
    "POST /v1/reservations/{reservation_id}/release": "releaseReservation",
    "GET /v1/events": "listEvents",
    "POST /v1/usage": "createUsageBatch",
    "GET /v1/rates": "getRateCard",
    "GET /v1/accounts/{account_id}/rates": "getAccountRates",
    "GET /v1/admin/verify": "verifyLedger",
    "POST /webhooks/stripe": "receiveStripeEvent",
    "GET /v1/webhook-events": "listStripeEvents",
    "POST /v1/webhook-events/{event_id}/replay": "replayStripeEvent",
    "POST /v1/webhook-endpoints": "createWebhookEndpoint",
    "GET /v1/webhook-endpoints": "listWebhookEndpoints",
    "GET /v1/webhook-endpoints/{endpoint_id}": "getWebhookEndpoint",
    "PATCH /v1/webhook-endpoints/{endpoint_id}": "updateWebhookEndpoint",
    "DELETE /v1/webhook-endpoints/{endpoint_id}": "deleteWebhookEndpoint",
    "POST /v1/webhook-endpoints/{endpoint_id}/rotate-secret": "rotateWebhookEndpointSecret",
    "GET /v1/webhook-endpoints/{endpoint_id}/deliveries": "listWebhookDeliveries",
    "POST /v1/webhook-deliveries/{delivery_id}/retry": "retryWebhookDelivery",
}


async def test_every_operation_has_its_hand_chosen_id(client):
    doc = (await client.get("/openapi.json")).json()

    found = {
        f"{method.upper()} {path}": operation["operationId"]
        for path, methods in doc["paths"].items()
        for method, operation in methods.items()
    }
    assert found == OPERATION_IDS


def test_operation_ids_are_unique_lower_camel_case():
    assert len(set(OPERATION_IDS.values())) == len(OPERATION_IDS)
    for key, operation_id in OPERATION_IDS.items():
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", operation_id), key
