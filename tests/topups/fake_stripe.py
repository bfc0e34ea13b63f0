"""A fake of Stripe's HTTP API on 127.0.0.1, for the real `stripe` client (api_base pointed
at it): prices, customers, one-off invoices and their items, finalize and pay, with Stripe's
idempotency (a key replays its first answer; the same key with other parameters is refused).
Objects start from Stripe's published fixtures (stripe/openapi `fixtures3.json`, kept in
stripe_fixtures.json). A test tells it how the next payments go: paid, declined,
authentication required, a timeout (no answer in time), a dropped connection, or accepted and
then the caller stopped."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

FIXTURES = json.loads((Path(__file__).parent / "stripe_fixtures.json").read_text())
API_KEY = "sk_test_topup_key"
CLIENT_TIMEOUT = 2.0  # the service's client, in the tests: a margin for a loaded machine
DROP = (0, {})  # how handle() says: close the connection without an answer

DECLINE = {
    "type": "card_error",
    "code": "card_declined",
    "decline_code": "insufficient_funds",
    "message": "Your card has insufficient funds.",
}
AUTHENTICATION = {
    "type": "card_error",
    "code": "authentication_required",
    "decline_code": "authentication_required",
    "message": "Your card was declined. This transaction requires authentication.",
}


def unflatten(pairs: list[tuple[str, str]]) -> dict:
    """Form fields as Stripe's client encodes them (`metadata[a]=1`, `expand[0]=x`)."""
    out: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


class FakeStripe:
    def __init__(self) -> None:
        self.prices: dict[str, dict] = {}
        self.customers: dict[str, dict] = {}
        self.invoices: dict[str, dict] = {}
        self.charges: list[dict] = []  # one per successful payment
        self.keys_seen: Counter[str] = Counter()  # idempotency keys, how often each came
        self._answers: dict[str, tuple[str, dict, int, str]] = {}
        self.payments: list[str] = []  # how the next payments go: "paid", "decline", ...
        self.on_accept: Callable[[], None] | None = None  # crash_after_accept: stop the caller
        self.hang_seconds = CLIENT_TIMEOUT + 0.5
        self.requests: list[tuple[str, str]] = []
        self._ids = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, args=(0.01,), daemon=True
        )  # its shutdown waits a poll: 0.01 s, not the default 0.5 s at every test's end

    def start(self) -> FakeStripe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # What a test sets up.

    def add_price(self, price_id: str, unit_amount: int, currency: str = "usd") -> None:
        price = copy.deepcopy(FIXTURES["price"])
        price.update(
            id=price_id,
            unit_amount=unit_amount,
            unit_amount_decimal=str(unit_amount),
            currency=currency,
            type="one_time",
            recurring=None,
        )
        self.prices[price_id] = price

    def add_customer(self, customer_id: str, payment_method: str | None = "pm_card_visa") -> None:
        self.customers[customer_id] = {
            "id": customer_id,
            "object": "customer",
            "invoice_settings": {"default_payment_method": payment_method},
            "metadata": {},
        }

    def paid_invoices(self) -> list[dict]:
        return [i for i in self.invoices.values() if i["status"] == "paid"]

    # The HTTP side.

    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}_fake{self._ids:08d}"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                parts = urlsplit(self.path)
                params = unflatten(parse_qsl(raw or parts.query, keep_blank_values=True))
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    return self._send(
                        401,
                        {
                            "error": {
                                "type": "invalid_request_error",
                                "message": "Invalid API Key provided",
                            }
                        },
                    )
                key = self.headers.get("Idempotency-Key")
                outcome = fake.handle(method, parts.path, params, key)
                if outcome is None:  # no answer in time: the caller times out
                    time.sleep(fake.hang_seconds)
                    self.close_connection = True
                    return None
                if outcome == DROP:  # the connection closes without an answer
                    self.close_connection = True
                    return None
                status, body = outcome
                if fake.on_accept is not None and parts.path.endswith("/pay") and status == 200:
                    # Before the answer goes: the caller is stopped while it waits for it, never
                    # after it has read it (then a fast caller could record it first).
                    hook, fake.on_accept = fake.on_accept, None
                    hook()
                self._send(status, body)
                return None

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Request-Id", "req_fake")
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler

    def handle(self, method: str, path: str, params: dict, key: str | None):
        with self._lock:
            self.requests.append((method, path))
            if method == "POST" and key:
                self.keys_seen[key] += 1
                known = self._answers.get(key)
                if known is not None:
                    if (known[0], known[1]) != (path, params):
                        return 400, _error(
                            "idempotency_error",
                            "Keys for idempotent requests "
                            "can only be used with the same parameters they "
                            "were first used with.",
                        )
                    return known[2], json.loads(known[3])
            outcome = self._route(method, path, params)
            if outcome not in (None, DROP) and method == "POST" and key and outcome[0] < 500:
                self._answers[key] = (path, params, outcome[0], json.dumps(outcome[1]))
            return outcome

    def _route(self, method: str, path: str, params: dict):
        segments = path.strip("/").split("/")[1:]  # after v1
        if method == "GET" and segments[0] == "prices":
            price = self.prices.get(segments[1])
            return (200, price) if price else (404, _missing("price"))
        if method == "POST" and segments == ["invoices"]:
            return self._create_invoice(params)
        if method == "POST" and segments == ["invoiceitems"]:
            return self._add_item(params)
        if method == "POST" and segments[0] == "invoices" and segments[-1] == "finalize":
            return self._finalize(segments[1])
        if method == "POST" and segments[0] == "invoices" and segments[-1] == "pay":
            return self._pay(segments[1], params)
        if method == "GET" and segments[0] == "invoices":
            invoice = self.invoices.get(segments[1])
            return (200, invoice) if invoice else (404, _missing("invoice"))
        return 404, _error("resource_missing", f"Unrecognized request URL ({method}: {path})")

    def _create_invoice(self, params: dict):
        customer = params.get("customer")
        if customer not in self.customers:
            return 400, _missing("customer")
        invoice = copy.deepcopy(FIXTURES["invoice"])
        invoice_id = self._new_id("in")
        invoice.update(
            id=invoice_id,
            customer=customer,
            status="draft",
            amount_due=0,
            amount_paid=0,
            amount_remaining=0,
            subtotal=0,
            total=0,
            attempt_count=0,
            attempted=False,
            auto_advance=params.get("auto_advance") == "true",
            billing_reason="manual",
            collection_method=params.get("collection_method", "charge_automatically"),
            metadata=params.get("metadata", {}),
            description=params.get("description"),
            default_payment_method=params.get("default_payment_method"),
            parent=None,
            subscription=None,
            number=None,
            hosted_invoice_url=None,
            invoice_pdf=None,
            last_finalization_error=None,
            from_invoice=None,
            currency="usd",
            lines={
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/invoices/{invoice_id}/lines",
            },
        )
        self.invoices[invoice_id] = invoice
        return 200, invoice

    def _add_item(self, params: dict):
        invoice = self.invoices.get(params.get("invoice"))
        price = self.prices.get((params.get("pricing") or {}).get("price"))
        if invoice is None or price is None:
            return 400, _missing("invoice" if invoice is None else "price")
        quantity = int(params.get("quantity", "1"))
        amount = price["unit_amount"] * quantity
        item = copy.deepcopy(FIXTURES["invoiceitem"])
        item.update(
            id=self._new_id("ii"),
            invoice=invoice["id"],
            customer=invoice["customer"],
            quantity=quantity,
            amount=amount,
            currency=price["currency"],
            parent=None,
            pricing={
                "type": "price_details",
                "unit_amount_decimal": str(price["unit_amount"]),
                "price_details": {"price": price["id"], "product": price["product"]},
            },
            net_amount=amount,
            quantity_decimal=str(quantity),
            proration=False,
        )
        line = {
            "id": self._new_id("il"),
            "object": "line_item",
            "amount": amount,
            "currency": price["currency"],
            "quantity": quantity,
            "invoice": invoice["id"],
            "pricing": item["pricing"],
            "parent": {
                "type": "invoice_item_details",
                "invoice_item_details": {
                    "invoice_item": item["id"],
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": None,
                },
            },
            "metadata": {},
            "period": {"start": 0, "end": 0},
        }
        invoice["lines"]["data"].append(line)
        invoice["currency"] = price["currency"]
        for field in ("amount_due", "amount_remaining", "subtotal", "total"):
            invoice[field] += amount
        return 200, item

    def _finalize(self, invoice_id: str):
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            return 404, _missing("invoice")
        if invoice["status"] == "draft":
            invoice.update(
                status="open",
                number=f"FAKE-{len(self.invoices):04d}",
                hosted_invoice_url=f"https://invoice.stripe.com/i/{invoice_id}",
            )
        return 200, invoice

    def _pay(self, invoice_id: str, params: dict):
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            return 404, _missing("invoice")
        if invoice["status"] == "paid":
            return 400, _error("invoice_already_paid", "Invoice is already paid")
        method = (
            params.get("payment_method")
            or invoice.get("default_payment_method")
            or (self.customers[invoice["customer"]]["invoice_settings"]["default_payment_method"])
        )
        if method is None:
            return 400, _error(
                "invoice_payment_intent_requires_action",
                "The customer has no default payment method.",
            )
        how = self.payments.pop(0) if self.payments else "paid"
        if how == "timeout":
            return None
        if how == "drop":
            return DROP
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        payment_intent = self._new_id("pi")
        if how in ("decline", "authentication_required"):
            error = dict(DECLINE if how == "decline" else AUTHENTICATION)
            error["payment_intent"] = {
                "id": payment_intent,
                "object": "payment_intent",
                "status": "requires_payment_method",
            }
            return 402, {"error": error}
        charge = {
            "id": self._new_id("ch"),
            "payment_intent": payment_intent,
            "amount": invoice["amount_due"],
            "invoice": invoice_id,
        }
        self.charges.append(charge)
        payment = copy.deepcopy(FIXTURES["invoice_payment"])
        payment.update(
            id=self._new_id("inpay"),
            invoice=invoice_id,
            is_default=True,
            amount_paid=invoice["amount_due"],
            amount_requested=invoice["amount_due"],
            currency=invoice["currency"],
            livemode=False,
            status="paid",
            payment={"type": "payment_intent", "payment_intent": payment_intent},
        )
        invoice.update(
            status="paid",
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
            payments={
                "object": "list",
                "data": [payment],
                "has_more": False,
                "url": "/v1/invoice_payments",
            },
        )
        return 200, invoice


def _error(code: str, message: str) -> dict:
    return {"error": {"type": "invalid_request_error", "code": code, "message": message}}


def _missing(what: str) -> dict:
    return _error("resource_missing", f"No such {what}")
