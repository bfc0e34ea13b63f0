"""Liveness, readiness, metrics and the OpenAPI docs."""

import os

import pytest

from tests.support.settings import auth

SPEC_PATHS = {
    "/v1/accounts/{account_id}",
    "/v1/accounts/{account_id}/grants",
    "/v1/accounts/{account_id}/ledger",
    "/v1/accounts/{account_id}/access",
    "/v1/accounts/{account_id}/debits",
    "/v1/accounts/{account_id}/reservations",
    "/v1/reservations/{reservation_id}",
    "/v1/reservations/{reservation_id}/capture",
    "/v1/reservations/{reservation_id}/release",
    "/v1/accounts/{account_id}/adjustments",
    "/webhooks/stripe",
    "/v1/webhook-events",
    "/v1/webhook-events/{event_id}/replay",
    "/healthz",
    "/readyz",
}


async def test_healthz_answers_without_a_token(client):
    r = await client.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok", "pid": os.getpid()})


async def test_readyz_says_which_engine_answers(client, db):
    r = await client.get("/readyz")
    engine = "embedded" if db.embedded else "mongodb"
    assert (r.status_code, r.json()) == (200, {"status": "ready", "engine": engine})


async def test_openapi_documents_every_endpoint_of_the_spec(client):
    paths = set((await client.get("/openapi.json")).json()["paths"])
    assert not SPEC_PATHS - paths, SPEC_PATHS - paths
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_metrics_are_prometheus_text(client):
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert "# TYPE credit_ledger_webhook_events_total counter" in r.text


@pytest.mark.parametrize(("path", "headers"), [("/v1/nope", auth("reader")), ("/nope", {})])
async def test_unknown_path_is_a_problem_json_404(client, path, headers):
    r = await client.get(path, headers=headers)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "not_found"
