"""The operations measured: each makes its request(s) on a connection and checks the answer."""

from __future__ import annotations

import json
import secrets
from typing import Any

from stripe_fixtures import StripeEvents, signed_request

from bench.client import Connection
from bench.runner import Op

FUNDS = 1_000_000_000  # credits granted to each benchmark account: never the limit


class Service:
    """A running service: where it is, a key with every scope, and its webhook secret."""

    def __init__(self, url: str, key: str, webhook_secret: str | None) -> None:
        self.url = url.rstrip("/")
        self.webhook_secret = webhook_secret
        self.headers = {"Authorization": f"Bearer {key}"}
        self.run = secrets.token_hex(4)  # names accounts and keys of this run apart

    def connect(self) -> Connection:
        return Connection(self.url, self.headers)

    def account(self, name: str) -> str:
        return f"bench_{self.run}_{name}"

    def key(self, name: str, n: int) -> dict[str, str]:
        return {"Idempotency-Key": f"bench-{self.run}-{name}-{n}"}

    async def fund(self, conn: Connection, account: str, amount: int = FUNDS) -> None:
        body = json.dumps({"amount": amount, "kind": "bonus", "description": "bench"}).encode()
        status, answer = await conn.request(
            "POST", f"/v1/accounts/{account}/grants", body, self.key(f"fund-{account}", 0)
        )
        if status not in (200, 201):
            raise SystemExit(f"bench: funding {account} answered {status}: {answer[:200]!r}")


def expect(status: int, wanted: int, answer: bytes) -> tuple[bool, str | None]:
    if status == wanted:
        return True, None
    return False, f"HTTP {status}: {answer[:200].decode(errors='replace')}"


def no_route(service: Service) -> Op:
    """The floor: a path no route serves (the server, the middleware, the 404 answer)."""

    async def op(conn: Connection, n: int) -> tuple[bool, str | None]:
        status, answer = await conn.request("GET", "/no-such-route")
        return expect(status, 404, answer)

    return op


def debit(service: Service, account: str, tag: str = "debit") -> Op:
    body = json.dumps({"amount": 1, "description": "bench"}).encode()
    path = f"/v1/accounts/{account}/debits"

    async def op(conn: Connection, n: int) -> tuple[bool, str | None]:
        status, answer = await conn.request("POST", path, body, service.key(tag, n))
        return expect(status, 201, answer)

    return op


USAGE_ACCOUNTS = 100  # a batch's records are spread over this many accounts


def usage_accounts(service: Service) -> list[str]:
    return [service.account(f"usage_{n}") for n in range(USAGE_ACCOUNTS)]


def debit_across(service: Service) -> Op:
    """Single debits of the batches' accounts in turn, of the same meter: a batch's records
    sent one request each, as a worker without batches sends its queue (concurrent debits of
    different accounts are units of their own; group commit joins those of one account)."""
    accounts = usage_accounts(service)
    paths = [f"/v1/accounts/{account}/debits" for account in accounts]
    body = json.dumps({"meter": "image.1024px", "quantity": 1}).encode()

    async def op(conn: Connection, n: int) -> tuple[bool, str | None]:
        path = paths[n % len(paths)]
        status, answer = await conn.request("POST", path, body, service.key("across", n))
        return expect(status, 201, answer)

    return op


def usage_batch(service: Service, size: int) -> Op:
    """POST /v1/usage with `size` records of image.1024px (the example card's meter), spread
    over USAGE_ACCOUNTS accounts: one op is one batch; records/s is ops/s x size."""
    accounts = usage_accounts(service)

    async def op(conn: Connection, n: int) -> tuple[bool, str | None]:
        records = [
            {
                "account_id": accounts[i % USAGE_ACCOUNTS],
                "idempotency_key": f"bench-{service.run}-usage{size}-{n}-{i}",
                "meter": "image.1024px",
                "quantity": 1,
            }
            for i in range(size)
        ]
        body = json.dumps({"records": records}).encode()
        status, answer = await conn.request("POST", "/v1/usage", body)
        if status == 200 and b'"201":' + str(size).encode() not in answer.replace(b" ", b""):
            return False, f"not every record debited: {answer[-200:]!r}"
        return expect(status, 200, answer)

    return op


def hold_and_capture(service: Service, account: str) -> Op:
    body = json.dumps({"amount": 2, "ttl_seconds": 600}).encode()
    path = f"/v1/accounts/{account}/reservations"
    capture = json.dumps({"amount": 1}).encode()

    async def op(conn: Connection, n: int) -> tuple[bool, str | None]:
        status, answer = await conn.request("POST", path, body, service.key("hold", n))
        if status != 201:
            return expect(status, 201, answer)
        hold = json.loads(answer)["id"]
        status, answer = await conn.request(
            "POST", f"/v1/reservations/{hold}/capture", capture, service.key("capture", n)
        )
        return expect(status, 200, answer)

    return op


def read(path: str) -> Op:
    async def op(conn: Connection, n: int) -> tuple[bool, str | None]:
        status, answer = await conn.request("GET", path)
        return expect(status, 200, answer)

    return op


def account_read(service: Service, account: str) -> Op:
    return read(f"/v1/accounts/{account}")


def ledger_page(service: Service, account: str) -> Op:
    return read(f"/v1/accounts/{account}/ledger?limit=20")


def webhook(service: Service) -> Op:
    """A signed `invoice.paid` activating a new subscription: the account is resolved from the
    subscription's metadata, linked, granted its plan's credits, and the event logged."""
    events = StripeEvents(shape="endive")
    secret = service.webhook_secret or ""

    async def op(conn: Connection, n: int) -> tuple[bool, str | None]:
        tag = f"{service.run}wh{n}"
        event = events.invoice_event(
            "invoice.paid",
            customer=f"cus_bench{tag}",
            subscription=f"sub_bench{tag}",
            billing_reason="subscription_create",
            subscription_metadata={"account_id": service.account(f"wh_{n}")},
        )
        body, headers = signed_request(event, secret)  # signed at sending: 300 s tolerance
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        status, answer = await conn.request("POST", "/webhooks/stripe", body, headers)
        if status == 200 and json.loads(answer).get("status") != "processed":
            return False, f"event answered {answer[:200]!r}"
        return expect(status, 200, answer)

    return op


def any_of(*ops: Op) -> Op:
    """Each request one of `ops` in turn (the read mix of the volume probe)."""

    async def op(conn: Connection, n: int) -> tuple[bool, str | None]:
        return await ops[n % len(ops)](conn, n)

    return op


def json_body(answer: bytes) -> Any:
    return json.loads(answer)
