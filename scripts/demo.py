"""Replay a whole customer life against a running Credit Ledger and print what it does.

    make run     # one terminal: starts the service on 127.0.0.1:8000, writes .dev-credentials.json
    make demo    # another terminal: python -m scripts.demo

Each step is one signed `POST /webhooks/stripe` (or an API call), as Stripe and a generation
worker would send it, followed by `GET /v1/accounts/{id}`; one line is printed per step. At the
end come the account's ledger and the webhook log of the events sent. The exit status is 0 only
if every step answered as expected and every balance is the one the rules promise.

Where the settings come from (first found wins):

    base URL        --base-url, .dev-credentials.json, http://127.0.0.1:$PORT (default 8000)
    API key         --api-key, $DEMO_API_KEY, .dev-credentials.json
                    (scopes credits:read, credits:debit, events:admin)
    webhook secret  --webhook-secret, $STRIPE_WEBHOOK_SECRET, .dev-credentials.json

Every run uses a fresh account (`demo_<hex>`) and fresh Stripe ids, so the demo can run again
and again against the same service.

Time. The service reads the real clock, and period credits expire at period end + `grace_days`
(3 in plans.example.toml). To show activation, two renewals, a failed payment and its recovery
without the first period's credits having expired by the time they are shown, the demo bills
in one-day periods that end in the newest one containing now:

    activation  now-3.5d .. now-2.5d    renewal 2          now-1.5d .. now-0.5d
    renewal 1   now-2.5d .. now-1.5d    failed, recovered  now-0.5d .. now+0.5d (upgrade here)

Event `created` times increase along the story and are never in the future. The expected
figures assume the example catalog (starter 1000, pro 5000, boost_500 = 500 credits,
rollover none on starter, upgrade_credits = prorate).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from stripe_fixtures import StripeEvents, signed_request

ROOT = Path(__file__).resolve().parent.parent
CREDENTIALS_FILE = ROOT / ".dev-credentials.json"

HOUR = 3_600
DAY = 24 * HOUR
PERIOD = DAY

# What plans.example.toml says; the expectations below follow from it.
STARTER_PRICE, STARTER_CREDITS = "price_starter_monthly", 1000
PRO_PRICE, PRO_CREDITS = "price_pro_monthly", 5000
PACK, PACK_CREDITS, PACK_PRICE_CENTS = "boost_500", 500, 900
STARTER_CENTS, PRO_CENTS = 1900, 4900

SET = object()  # an expectation: the field is not null


# ---------------------------------------------------------------- settings


class DemoError(Exception):
    """Something the person running the demo must fix; printed in one paragraph, exit 1."""


@dataclass(frozen=True)
class Settings:
    base_url: str
    api_key: str
    webhook_secret: str
    shape: str


def _saved_credentials(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DemoError(f"cannot read {path}: {error}") from None
    return saved if isinstance(saved, dict) else {}


def load_settings(args: argparse.Namespace) -> Settings:
    saved = _saved_credentials(Path(args.credentials))
    port = os.environ.get("PORT", "").strip() or "8000"
    base_url = args.base_url or saved.get("base_url") or f"http://127.0.0.1:{port}"
    api_key = args.api_key or os.environ.get("DEMO_API_KEY") or saved.get("api_key")
    secret = (
        args.webhook_secret
        or os.environ.get("STRIPE_WEBHOOK_SECRET")
        or saved.get("webhook_secret")
    )
    if not api_key:
        raise DemoError(
            "no API key: pass --api-key or set DEMO_API_KEY to a key with the scopes "
            "credits:read, credits:debit and events:admin (`make run` saves the key it mints "
            f"in {CREDENTIALS_FILE.name}, but not when API_KEYS came from the environment)"
        )
    if not secret:
        raise DemoError(
            "no webhook secret: pass --webhook-secret or set STRIPE_WEBHOOK_SECRET to the "
            f"service's secret (`make run` saves the one it mints in {CREDENTIALS_FILE.name})"
        )
    # STRIPE_WEBHOOK_SECRET may list several (rotation): any one of them signs.
    secret = next(s.strip() for s in secret.split(",") if s.strip())
    return Settings(base_url.rstrip("/"), api_key, secret, args.shape)


# ---------------------------------------------------------------- events


class DemoEvents(StripeEvents):
    """The test builder with ids unique to this run, so a re-run never collides with the last."""

    def __init__(self, run: str, shape: str, now: int) -> None:
        super().__init__(shape=shape, now=now)  # type: ignore[arg-type]
        self.run = run
        self._numbers = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_demo{self.run}{next(self._numbers):04d}"


@dataclass
class Step:
    name: str
    send: Callable[[], httpx.Response]
    expect: dict[str, Any]  # account fields after the step
    http: int = 200
    answer: str | None = "processed"  # the webhook's {"status"}; None for API calls
    replayed: bool = False  # an API retry: expect `Idempotent-Replayed: true`


@dataclass
class Story:
    settings: Settings
    client: httpx.Client
    run: str = field(default_factory=lambda: secrets.token_hex(5))
    event_ids: list[str] = field(default_factory=list)

    @property
    def account_id(self) -> str:
        return f"demo_{self.run}"

    def webhook(self, event: dict[str, Any]) -> Callable[[], httpx.Response]:
        self.event_ids.append(event["id"])

        def send() -> httpx.Response:
            # Signed at send time: the service allows 300 s of clock skew.
            body, headers = signed_request(event, self.settings.webhook_secret)
            return self.client.post("/webhooks/stripe", content=body, headers=headers)

        return send

    def debit(self, amount: int, description: str, key: str) -> Callable[[], httpx.Response]:
        def send() -> httpx.Response:
            return self.client.post(
                f"/v1/accounts/{self.account_id}/debits",
                json={"amount": amount, "description": description, "metadata": {"job": key}},
                headers={"Idempotency-Key": f"demo-{self.run}-{key}"},
            )

        return send

    def steps(self, now: int) -> list[Step]:
        ev = DemoEvents(self.run, self.settings.shape, now)
        account = self.account_id
        customer, sub = f"cus_demo{self.run}", f"sub_demo{self.run}"
        # One-day periods, the newest containing now (see the module docstring).
        a0 = now - 3 * DAY - 12 * HOUR
        activation, renewal1, renewal2, current = (
            (a0 + i * PERIOD, a0 + (i + 1) * PERIOD) for i in range(4)
        )
        common = {"customer": customer, "subscription": sub}
        sub_common = {"customer": customer, "subscription_id": sub}
        failed_invoice, failed_pi = ev.new_id("in"), ev.new_id("pi")
        upgrade_at = now - 40 * 60
        span = current[1] - current[0]
        prorated = (
            (PRO_CREDITS - STARTER_CREDITS) * min(max(current[1] - upgrade_at, 0), span) // span
        )
        pack_pi = ev.new_id("pi")

        def invoice(
            type_: str, reason: str, period: tuple[int, int], created: int, **extra: Any
        ) -> dict[str, Any]:
            return ev.invoice_event(
                type_,
                billing_reason=reason,
                price=STARTER_PRICE,
                unit_amount=STARTER_CENTS,
                period_start=period[0],
                period_end=period[1],
                created=created,
                event_id=ev.new_id("evt"),
                **common,
                **extra,
            )

        def subscription(type_: str, created: int, **extra: Any) -> dict[str, Any]:
            return ev.subscription_event(
                type_, created=created, event_id=ev.new_id("evt"), **sub_common, **extra
            )

        active = {"subscription_status": "active", "suspended_reason": None}
        after_debits = STARTER_CREDITS - 120 - 35
        after_upgrade = STARTER_CREDITS + prorated
        checkout = ev.checkout_session_completed(
            customer=customer,
            account_id=account,
            subscription=sub,
            mode="subscription",
            amount_total=STARTER_CENTS,
            created=activation[0] - 60,
            event_id=ev.new_id("evt"),
        )
        created = subscription(
            "created",
            activation[0],
            price=STARTER_PRICE,
            unit_amount=STARTER_CENTS,
            period_start=activation[0],
            period_end=activation[1],
        )
        activated = invoice("invoice.paid", "subscription_create", activation, activation[0] + 10)
        renewed_1 = invoice("invoice.paid", "subscription_cycle", renewal1, renewal1[0] + 60)
        renewed_2 = invoice("invoice.paid", "subscription_cycle", renewal2, renewal2[0] + 60)
        failed = invoice(
            "invoice.payment_failed",
            "subscription_cycle",
            current,
            current[0] + 60,
            invoice_id=failed_invoice,
            payment_intent=failed_pi,
        )
        recovered = invoice(
            "invoice.paid",
            "subscription_cycle",
            current,
            current[0] + 5 * HOUR,
            invoice_id=failed_invoice,
            payment_intent=failed_pi,
            attempt_count=2,
        )
        upgraded = subscription(
            "updated",
            upgrade_at,
            price=PRO_PRICE,
            unit_amount=PRO_CENTS,
            period_start=current[0],
            period_end=current[1],
            previous_attributes={"items": {"data": [{"price": {"id": STARTER_PRICE}}]}},
        )
        pack = ev.checkout_session_completed(
            customer=customer,
            account_id=account,
            mode="payment",
            payment_status="paid",
            metadata={"pack": PACK},
            payment_intent=pack_pi,
            amount_total=PACK_PRICE_CENTS,
            created=now - 30 * 60,
            event_id=ev.new_id("evt"),
        )
        refunded = ev.charge_refunded(
            payment_intent=pack_pi,
            amount=PACK_PRICE_CENTS,
            customer=customer,
            created=now - 20 * 60,
            event_id=ev.new_id("evt"),
        )
        canceling = subscription(
            "updated",
            now - 10 * 60,
            price=PRO_PRICE,
            unit_amount=PRO_CENTS,
            period_start=current[0],
            period_end=current[1],
            cancel_at_period_end=True,
            previous_attributes={"cancel_at": None, "cancel_at_period_end": False},
        )
        deleted = subscription(
            "deleted",
            now - 60,
            price=PRO_PRICE,
            unit_amount=PRO_CENTS,
            period_start=current[0],
            period_end=current[1],
            cancel_at=current[1],
        )

        hook = self.webhook
        return [
            Step(
                "checkout.session.completed (subscription)",
                hook(checkout),
                {
                    "balance": 0,
                    "subscription_status": "none",
                    "plan": None,
                    "stripe_customer_id": customer,
                },
            ),
            Step(
                "customer.subscription.created (starter)",
                hook(created),
                {"balance": 0, **active, "plan": "starter"},
            ),
            Step(
                "invoice.paid subscription_create (activation)",
                hook(activated),
                {"balance": STARTER_CREDITS, **active, "plan": "starter"},
            ),
            Step(
                "invoice.paid subscription_cycle (renewal 1)",
                hook(renewed_1),
                {"balance": STARTER_CREDITS, **active, "plan": "starter"},
            ),
            Step(
                "POST debits 120 (generation: video clip)",
                self.debit(120, "generation: 10 s video clip", "gen-1"),
                {"balance": STARTER_CREDITS - 120, **active},
                http=201,
                answer=None,
            ),
            Step(
                "POST debits 35 (generation: 5 images)",
                self.debit(35, "generation: 5 images", "gen-2"),
                {"balance": after_debits, **active},
                http=201,
                answer=None,
            ),
            Step(
                "POST debits 35 again, same Idempotency-Key",
                self.debit(35, "generation: 5 images", "gen-2"),
                {"balance": after_debits, **active},
                http=201,
                answer=None,
                replayed=True,
            ),
            Step(
                "invoice.paid subscription_cycle (renewal 2)",
                hook(renewed_2),
                {"balance": STARTER_CREDITS, **active, "plan": "starter"},
            ),
            Step(
                "invoice.payment_failed (next period)",
                hook(failed),
                {
                    "balance": STARTER_CREDITS,
                    "subscription_status": "past_due",
                    "grace_until": SET,
                    "suspended_reason": None,
                },
            ),
            Step(
                "invoice.paid (retry succeeded: recovery)",
                hook(recovered),
                {"balance": STARTER_CREDITS, **active, "grace_until": None, "plan": "starter"},
            ),
            Step(
                "customer.subscription.updated starter->pro",
                hook(upgraded),
                {"balance": after_upgrade, **active, "plan": "pro"},
            ),
            Step(
                f"checkout.session.completed (pack {PACK})",
                hook(pack),
                {"balance": after_upgrade + PACK_CREDITS, **active, "plan": "pro"},
            ),
            Step(
                "charge.refunded (the pack, in full)",
                hook(refunded),
                {"balance": after_upgrade, **active, "plan": "pro"},
            ),
            Step(
                "customer.subscription.updated cancel_at_period_end",
                hook(canceling),
                {"balance": after_upgrade, **active, "plan": "pro", "cancel_at": SET},
            ),
            Step(
                "customer.subscription.deleted",
                hook(deleted),
                {"balance": 0, "subscription_status": "canceled", "cancel_at": None},
            ),
        ]


# ---------------------------------------------------------------- running and printing


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and "code" in body:
        return f"{body.get('code')}: {body.get('detail')}"
    return json.dumps(body)[:200]


def _check_auth(response: httpx.Response, what: str) -> None:
    """A refused key or secret is a setup problem, not a story step going wrong: say so."""
    if response.status_code == 401:
        raise DemoError(
            f"{what}: the API key was refused (401). Is {CREDENTIALS_FILE.name} from another "
            "`make run`? Restart the service or pass --api-key."
        )
    if response.status_code == 403:
        raise DemoError(
            f"{what}: the API key lacks a scope ({_problem(response)}); it needs "
            "credits:read, credits:debit and events:admin."
        )


def _fmt(value: Any) -> str:
    return "-" if value is None else str(value)


def _short_time(value: str | None) -> str:
    return "-" if value is None else value[:16].replace("T", " ")


def run_step(story: Story, number: int, step: Step) -> list[str]:
    """Send one step, print its line; return what was unexpected."""
    problems: list[str] = []
    response = step.send()
    if step.answer is None:
        _check_auth(response, step.name)
    elif response.status_code == 400 and "signature" in response.text:
        raise DemoError(
            f"{step.name}: the webhook signature was refused ({_problem(response)}). "
            "Is the webhook secret the service's? Restart it or pass "
            "--webhook-secret."
        )
    if response.status_code != step.http:
        problems.append(f"HTTP {response.status_code}, expected {step.http}: {_problem(response)}")
        answer = f"{response.status_code}"
    elif step.answer is not None:
        status = response.json().get("status")
        answer = f"{response.status_code} {status}"
        if status != step.answer:
            problems.append(f"webhook answered {status!r}, expected {step.answer!r}")
    else:
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        entry = response.json().get("entry", {})
        answer = f"{response.status_code} {entry.get('type')} {entry.get('amount')}"
        answer += " (replayed)" if replayed else ""
        if replayed != step.replayed:
            problems.append(f"Idempotent-Replayed {replayed}, expected {step.replayed}")

    got = story.client.get(f"/v1/accounts/{story.account_id}")
    _check_auth(got, "GET account")
    account = got.json() if got.status_code == 200 else {}
    if got.status_code != 200:
        problems.append(f"GET account: HTTP {got.status_code}: {_problem(got)}")
    for name, wanted in step.expect.items():
        value = account.get(name)
        if (value is None) if wanted is SET else (value != wanted):
            problems.append(
                f"{name} is {value!r}, expected {'a value' if wanted is SET else repr(wanted)}"
            )

    extra = ""
    if account.get("grace_until"):
        extra += f" grace_until={_short_time(account['grace_until'])}"
    if account.get("cancel_at"):
        extra += f" cancel_at={_short_time(account['cancel_at'])}"
    print(
        f"{number:>2}. {step.name:<51} {answer:<24} "
        f"balance={_fmt(account.get('balance')):>5} "
        f"available={_fmt(account.get('available')):>5} "
        f"status={_fmt(account.get('subscription_status')):<9} "
        f"plan={_fmt(account.get('plan')):<7} "
        f"suspended={_fmt(account.get('suspended_reason'))}{extra}"
    )
    for problem in problems:
        print(f"      UNEXPECTED: {problem}")
    return problems


def print_ledger(story: Story) -> list[str]:
    response = story.client.get(f"/v1/accounts/{story.account_id}/ledger", params={"limit": 100})
    if response.status_code != 200:
        return [f"GET ledger: HTTP {response.status_code}: {_problem(response)}"]
    page = response.json()
    entries = list(reversed(page["data"]))  # the API lists newest first
    print(f"\nLedger of {story.account_id}, oldest first:")
    print(f"    {'type':<10} {'amount':>7} {'balance_after':>13}  description")
    for entry in entries:
        print(
            f"    {entry['type']:<10} {entry['amount']:>+7} {entry['balance_after']:>13}  "
            f"{_fmt(entry.get('description'))}"
        )
    problems: list[str] = []
    account = story.client.get(f"/v1/accounts/{story.account_id}").json()
    total = sum(entry["amount"] for entry in entries)
    if page["has_more"]:
        print("    (more than 100 entries: the sum check is skipped)")
    elif total != account.get("balance"):
        problems.append(f"balance {account.get('balance')} != sum of ledger amounts {total}")
    else:
        print(f"    sum of amounts {total} == balance {account.get('balance')}")
    return problems


def print_event_log(story: Story) -> list[str]:
    wanted, found = set(story.event_ids), {}
    params: dict[str, Any] = {"limit": 100}
    for _ in range(50):  # the log is newest first: our events are near the top
        response = story.client.get("/v1/webhook-events", params=params)
        _check_auth(response, "GET /v1/webhook-events")
        if response.status_code != 200:
            return [f"GET webhook-events: HTTP {response.status_code}: {_problem(response)}"]
        page = response.json()
        found.update((e["id"], e) for e in page["data"] if e["id"] in wanted)
        if len(found) == len(wanted) or not page["has_more"]:
            break
        params["starting_after"] = page["next_cursor"]
    print(f"\nWebhook event log ({len(found)} of the {len(wanted)} events sent):")
    problems = []
    for event_id in story.event_ids:
        event = found.get(event_id)
        if event is None:
            problems.append(f"event {event_id} is not in the webhook log")
            continue
        detail = event.get("error") or event.get("note") or ""
        print(
            f"    {event['type']:<36} {event['status']:<10} attempts={event['attempts']}  "
            f"{event_id}  {detail}"
        )
        if event["status"] != "processed":
            problems.append(f"event {event_id} ({event['type']}) is {event['status']}")
    return problems


def play(settings: Settings) -> int:
    headers = {"Authorization": f"Bearer {settings.api_key}"}
    with httpx.Client(base_url=settings.base_url, headers=headers, timeout=15) as client:
        try:
            health = client.get("/healthz")
        except httpx.TransportError as error:
            print(
                f"The Credit Ledger service does not answer at {settings.base_url} "
                f"({error.__class__.__name__}: {error}).\n"
                "Start it with `make run` in another terminal, then run `make demo` again.",
                file=sys.stderr,
            )
            return 1
        if health.status_code != 200:
            print(
                f"{settings.base_url}/healthz answered HTTP {health.status_code}: is this the "
                "Credit Ledger? Start it with `make run` in another terminal.",
                file=sys.stderr,
            )
            return 1

        # The key before anything is sent, so a wrong one leaves nothing behind.
        probe = client.get("/v1/webhook-events", params={"limit": 1})
        _check_auth(probe, "GET /v1/webhook-events")

        story = Story(settings, client)
        now = int(time.time())
        steps = story.steps(now)
        print(
            f"Credit Ledger demo against {settings.base_url}: account {story.account_id}, "
            f"Stripe payloads of the {settings.shape} shape\n"
        )
        problems: list[str] = []
        try:
            for number, step in enumerate(steps, 1):
                problems += run_step(story, number, step)
            problems += print_ledger(story)
            problems += print_event_log(story)
        except httpx.TransportError as error:
            print(
                f"\nThe service stopped answering ({error.__class__.__name__}: {error}).",
                file=sys.stderr,
            )
            return 1
    if problems:
        print(f"\n{len(problems)} unexpected answer(s):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("\nEvery step answered as expected.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.demo",
        description="Replay a whole customer life (checkout, activation, renewals, a failed "
        "payment and recovery, an upgrade, a credit pack and its refund, "
        "cancellation) against a running Credit Ledger.",
    )
    parser.add_argument(
        "--base-url",
        help="the service (default: from .dev-credentials.json, "
        "else http://127.0.0.1:$PORT or 8000)",
    )
    parser.add_argument(
        "--api-key", help="a service API key (default: $DEMO_API_KEY, else .dev-credentials.json)"
    )
    parser.add_argument(
        "--webhook-secret",
        help="the service's Stripe webhook secret (default: "
        "$STRIPE_WEBHOOK_SECRET, else "
        ".dev-credentials.json)",
    )
    parser.add_argument(
        "--shape",
        choices=["endive", "legacy"],
        default="endive",
        help="Stripe payload layout: 2026-10-28.endive or pre-2025-03-31",
    )
    parser.add_argument(
        "--credentials",
        default=str(CREDENTIALS_FILE),
        help="where `make run` saved its credentials (default: %(default)s)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return play(load_settings(args))
    except DemoError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
