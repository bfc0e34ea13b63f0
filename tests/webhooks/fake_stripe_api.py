"""Stripe's API as the service asks it while applying events, for a real stripe.StripeClient:
GET /v1/invoice_payments (by payment intent), GET /v1/charges/{id},
GET /v1/invoices/{id}/lines and GET /v1/customers/{id}, answered from what a test puts in; no
network."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import stripe

API_KEY = "sk_test_lookup_key"


class FakeStripeAPI(stripe.HTTPClient):
    """The four requests, as Stripe answers them (a 404 for an unknown charge or customer)."""

    name = "fake"

    def __init__(self) -> None:
        super().__init__()
        self.invoice_payments: list[dict] = []
        self.charges: dict[str, dict] = {}
        self.invoice_lines: dict[str, list[dict]] = {}
        self.customers: dict[str, dict] = {}
        self.requests: list[tuple[str, dict]] = []
        self.down = False  # answer every request with Stripe's 500

    def request(self, method, url, headers, post_data=None, **_):
        assert method == "get" and headers["Authorization"] == f"Bearer {API_KEY}"
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.requests.append((parts.path, query))
        if self.down:
            error = {"type": "api_error", "message": "An unknown error occurred"}
            return json.dumps({"error": error}), 500, {}
        if parts.path.startswith("/v1/invoices/"):
            lines = self.invoice_lines[parts.path.split("/")[3]]
            return (
                json.dumps({"object": "list", "url": parts.path, "data": lines, "has_more": False}),
                200,
                {},
            )
        for prefix, known, what in (
            ("/v1/charges/", self.charges, "charge"),
            ("/v1/customers/", self.customers, "customer"),
        ):
            if parts.path.startswith(prefix):
                found = known.get(parts.path.rsplit("/", 1)[1])
                if found is None:
                    error = {
                        "type": "invalid_request_error",
                        "code": "resource_missing",
                        "message": f"No such {what}",
                    }
                    return json.dumps({"error": error}), 404, {}
                return json.dumps(found), 200, {}
        assert parts.path == "/v1/invoice_payments"
        assert query["payment[type]"] == ["payment_intent"]
        wanted = query["payment[payment_intent]"][0]
        data = [p for p in self.invoice_payments if p["payment"]["payment_intent"] == wanted]
        return (
            json.dumps(
                {"object": "list", "url": "/v1/invoice_payments", "data": data, "has_more": False}
            ),
            200,
            {},
        )

    def close(self):
        pass
