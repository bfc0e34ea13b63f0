"""The billing rules' invariants, checked from the stored documents: read only, fixes nothing.
Each account is read in one transaction, so a busy account is checked on one snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.db import ACCOUNTS, GRANTS, LEDGER, RESERVATIONS, Session
from app.ledger.idempotency import STRIPE_KEY_PREFIXES
from app.ledger.repository import Doc, Repositories


@dataclass(frozen=True)
class Problem:
    account_id: str
    invariant: str
    detail: str


@dataclass
class Report:
    accounts_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify(repos: Repositories, account_id: str | None = None) -> Report:
    """Check one account, or every account (one transaction each)."""
    report = Report()
    if account_id is not None:
        ids = [account_id]
    else:
        cursor = repos.db[ACCOUNTS].find({}, {"_id": 1}).sort("_id", 1)
        ids = [doc["_id"] async for doc in cursor]
    for one in ids:
        problems = await repos.db.transaction(
            lambda session, a=one: check_account(session, repos, a)
        )
        report.accounts_checked += 1
        report.problems += problems
    return report


async def check_account(session: Session, repos: Repositories, account_id: str) -> list[Problem]:
    db = repos.db
    account = await db[ACCOUNTS].find_one({"_id": account_id}, session=session)
    if account is None:
        return [Problem(account_id, "account_exists", "no such account")]
    entries = await db[LEDGER].find({"account_id": account_id}, session=session).to_list(None)
    grants = await db[GRANTS].find({"account_id": account_id}, session=session).to_list(None)
    holds = (
        await db[RESERVATIONS]
        .find({"account_id": account_id, "status": "held"}, session=session)
        .to_list(None)
    )
    found: list[Problem] = []

    def problem(invariant: str, detail: str) -> None:
        found.append(Problem(account_id, invariant, detail))

    balance, reserved, deficit = account["balance"], account["reserved"], account["deficit"]
    total = sum(e["amount"] for e in entries)
    if balance != total:
        problem("balance_is_sum_of_entries", f"balance {balance}, entries sum to {total}")
    _check_sequence(account, entries, problem)
    held_holds = sum(h["amount"] for h in holds)
    held_grants = sum(g["held"] for g in grants)
    if reserved != held_holds:
        problem(
            "reserved_is_held_reservations", f"reserved {reserved}, held reservations {held_holds}"
        )
    if reserved != held_grants:
        problem("reserved_is_grants_held", f"reserved {reserved}, grants hold {held_grants}")
    live = sum(g["remaining"] for g in grants if not g["expired"])
    if balance != live + held_grants - deficit:
        problem(
            "grants_match_balance",
            f"balance {balance}, grants' remaining {live} + held "
            f"{held_grants} - deficit {deficit} = {live + held_grants - deficit}",
        )
    _check_signs(account, grants, problem)
    _check_stripe_effects(entries, problem)
    _check_account_lists(account, grants, holds, problem)
    return found


def _check_account_lists(account: Doc, grants: list[Doc], holds: list[Doc], problem) -> None:
    """What the account keeps so that a debit or hold need not search: its count of held
    reservations, and the ids of its grants that may still have credits (an account written
    before these existed gets them when it is next touched)."""
    if "holds" in account and account["holds"] != len(holds):
        problem(
            "holds_count",
            f"the account counts {account['holds']} held reservations, there are {len(holds)}",
        )
    if "grant_ids" in account:
        listed = set(account["grant_ids"])
        missing = [
            g["_id"]
            for g in grants
            if not g["expired"] and (g["remaining"] > 0 or g["held"] > 0) and g["_id"] not in listed
        ]
        if missing:
            problem(
                "grant_ids_cover_live_grants",
                f"grants with credits missing from the account's list: {missing[:5]}",
            )


def _check_sequence(account: Doc, entries: list[Doc], problem) -> None:
    unnumbered = [e["_id"] for e in entries if not isinstance(e.get("seq"), int)]
    if unnumbered:
        problem(
            "seq_gapless",
            f"{len(unnumbered)} entries without seq (first {unnumbered[0]}); "
            "the service numbers them once at start-up",
        )
        return
    ordered = sorted(entries, key=lambda e: e["seq"])
    seqs = [e["seq"] for e in ordered]
    if seqs != list(range(1, len(seqs) + 1)) or account.get("seq", 0) != len(seqs):
        missing = sorted(set(range(1, max(seqs, default=0) + 1)) - set(seqs))[:5]
        problem(
            "seq_gapless",
            f"{len(seqs)} entries, account at seq {account.get('seq')}, "
            f"missing {missing}, repeated {len(seqs) - len(set(seqs))}",
        )
    previous: Doc | None = None
    for entry in ordered:
        expected = (previous["balance_after"] if previous else 0) + entry["amount"]
        if entry["balance_after"] != expected:
            problem(
                "balance_after_chain",
                f"entry {entry['_id']} (seq {entry['seq']}): "
                f"balance_after {entry['balance_after']}, previous + amount = {expected}",
            )
            break
        if previous is not None and entry["created_at"] < previous["created_at"]:
            problem(
                "created_at_order",
                f"entry {entry['_id']} (seq {entry['seq']}) is older than the entry before it",
            )
            break
        previous = entry


def _check_signs(account: Doc, grants: list[Doc], problem) -> None:
    for grant in grants:
        if grant["remaining"] < 0 or grant["held"] < 0:
            problem(
                "nothing_negative",
                f"grant {grant['_id']}: remaining {grant['remaining']}, held {grant['held']}",
            )
        if grant["expired"] and grant["remaining"] != 0:
            problem(
                "nothing_negative",
                f"grant {grant['_id']} expired with {grant['remaining']} remaining",
            )
    if account["deficit"] < 0 or account["reserved"] < 0:
        problem("nothing_negative", f"deficit {account['deficit']}, reserved {account['reserved']}")
    if account["deficit"] == 0 and account["balance"] - account["reserved"] < 0:
        problem(
            "nothing_negative",
            f"available {account['balance'] - account['reserved']} without a deficit",
        )


def _check_stripe_effects(entries: list[Doc], problem) -> None:
    seen: set[str] = set()
    for entry in entries:
        key = entry.get("idempotency_key")
        if isinstance(key, str) and key.startswith(STRIPE_KEY_PREFIXES):
            if key in seen:
                problem("stripe_effect_once", f"{key} applied more than once")
            seen.add(key)
