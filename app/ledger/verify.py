"""The billing rules' invariants, checked from the stored documents: read only, fixes nothing.
An account's balances, grants and holds are read in one short transaction (one snapshot);
its ledger up to the seq that snapshot saw is then read in batches by seq (numbered entries
never change), so that neither a busy account nor one of 200,000 entries holds a transaction
open. Each account is checked on its own: one that cannot be read is reported, not fatal."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from pymongo import ASCENDING

from app.ledger.idempotency import STRIPE_KEY_PREFIXES
from app.ledger.repository import Repositories
from app.storage.database import ACCOUNTS, GRANTS, LEDGER, RESERVATIONS, Session
from app.storage.documents import Doc

log = logging.getLogger("app.ledger.verify")

ACCOUNTS_BATCH = 500  # account ids read per call
ENTRIES_BATCH = 1000  # ledger entries read per call


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
    """Check one account, or every account (in _id order, a batch of ids at a time)."""
    report = Report()
    if account_id is not None:
        await _check_into(report, repos, account_id)
        return report
    last = None
    while True:
        query: dict[str, Any] = {} if last is None else {"_id": {"$gt": last}}
        cursor = repos.db[ACCOUNTS].find(query, {"_id": 1}).sort("_id", ASCENDING)
        ids = [doc["_id"] for doc in await cursor.limit(ACCOUNTS_BATCH).to_list(None)]
        for one in ids:
            await _check_into(report, repos, one)
        if len(ids) < ACCOUNTS_BATCH:
            return report
        last = ids[-1]


async def _check_into(report: Report, repos: Repositories, account_id: str) -> None:
    try:
        problems = await check_account(repos, account_id)
    except Exception as exc:  # a document no rule expects: reported, and the rest go on
        log.exception("verify: account %s could not be checked", account_id)
        problems = [
            Problem(account_id, "account_readable", f"could not be checked: {type(exc).__name__}")
        ]
    report.accounts_checked += 1
    report.problems += problems


async def check_account(repos: Repositories, account_id: str) -> list[Problem]:
    snapshot = await repos.db.transaction(lambda session: _snapshot(session, repos, account_id))
    if snapshot is None:
        return [Problem(account_id, "account_exists", "no such account")]
    account, grants, holds = snapshot
    found: list[Problem] = []

    def problem(invariant: str, detail: str) -> None:
        found.append(Problem(account_id, invariant, detail))

    balance, reserved, deficit = account["balance"], account["reserved"], account["deficit"]
    total = await _check_ledger(repos, account, problem)
    if total is not None and balance != total:
        problem("balance_is_sum_of_entries", f"balance {balance}, entries sum to {total}")
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
    _check_account_lists(account, grants, holds, problem)
    return found


async def _snapshot(
    session: Session, repos: Repositories, account_id: str
) -> tuple[Doc, list[Doc], list[Doc]] | None:
    db = repos.db
    account = await db[ACCOUNTS].find_one({"_id": account_id}, session=session)
    if account is None:
        return None
    grants = await db[GRANTS].find({"account_id": account_id}, session=session).to_list(None)
    holds = (
        await db[RESERVATIONS]
        .find({"account_id": account_id, "status": "held"}, session=session)
        .to_list(None)
    )
    return account, grants, holds


async def _check_ledger(repos: Repositories, account: Doc, problem) -> int | None:
    """The entries up to the snapshot's seq, a batch at a time: gapless, each balance_after
    the previous one plus its amount, never older than the one before, each Stripe effect
    once. Returns their sum (None when entries are not numbered yet)."""
    col, account_id = repos.db[LEDGER], account["_id"]
    unnumbered = await col.count_documents({"account_id": account_id, "seq": None})
    if unnumbered:
        problem(
            "seq_gapless",
            f"{unnumbered} entries without seq; the service numbers them once at start-up",
        )
        return None
    last_seq = account.get("seq", 0)
    chain = _Chain(problem)
    while chain.seq < last_seq:
        batch = await (
            col.find({"account_id": account_id, "seq": {"$gt": chain.seq, "$lte": last_seq}})
            .sort("seq", ASCENDING)
            .limit(ENTRIES_BATCH)
            .to_list(None)
        )
        if not batch or not chain.take(batch):
            break
    if chain.seq != last_seq and not (chain.broken or chain.gap):
        problem("seq_gapless", f"account at seq {last_seq}, its entries end at {chain.seq}")
    return chain.total


class _Chain:
    """The ledger's invariants over entries read in seq order, batch after batch."""

    def __init__(self, problem) -> None:
        self.problem = problem
        self.seq = 0
        self.total = 0
        self.balance_after = 0
        self.created_at = None
        self.broken = False
        self.gap = False
        self.stripe_keys: set[str] = set()

    def take(self, entries: list[Doc]) -> bool:
        """False once a problem makes the rest meaningless (reported once)."""
        for entry in entries:
            if entry["seq"] != self.seq + 1 and not self.gap:
                self.gap = True  # reported once; the chain is still checked across it
                missing = list(range(self.seq + 1, entry["seq"]))[:5]
                self.problem(
                    "seq_gapless",
                    f"after seq {self.seq} comes {entry['seq']}: "
                    + (f"missing {missing}" if missing else "repeated"),
                )
            self.total += entry["amount"]
            expected = self.balance_after + entry["amount"]
            if entry["balance_after"] != expected:
                self._break(
                    "balance_after_chain",
                    f"entry {entry['_id']} (seq {entry['seq']}): "
                    f"balance_after {entry['balance_after']}, previous + amount = {expected}",
                )
                return False
            if self.created_at is not None and entry["created_at"] < self.created_at:
                self._break(
                    "created_at_order",
                    f"entry {entry['_id']} (seq {entry['seq']}) is older than the entry before it",
                )
                return False
            key = entry.get("idempotency_key")
            if isinstance(key, str) and key.startswith(STRIPE_KEY_PREFIXES):
                if key in self.stripe_keys:
                    self.problem("stripe_effect_once", f"{key} applied more than once")
                self.stripe_keys.add(key)
            self.seq, self.balance_after = entry["seq"], entry["balance_after"]
            self.created_at = entry["created_at"]
        return True

    def _break(self, invariant: str, detail: str) -> None:
        self.broken = True
        self.problem(invariant, detail)


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
