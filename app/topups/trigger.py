"""The crossing: at the end of every unit of work that moved an account's `available`, inside
its transaction, a fall below the auto top-up threshold records the round's pending top-up."""

from __future__ import annotations

from typing import Any

from app.kit.clock import Clock
from app.ledger.access import available
from app.ledger.outbox import Fact
from app.storage.database import Session
from app.topups.repository import TopupRepository
from app.topups.settings import crosses

# A refund, a lost dispute or an operator's correction buys nothing: a customer refunded is not
# charged again because of the refund.
TAKEN_BACK = frozenset({"clawback", "adjustment"})


class TopupTrigger:
    """A listener of `Database.transaction`, beside the outgoing events' recorder. It reads the
    settings from the account the guarded write returned: a unit that crosses nothing (or an
    account without auto top-up) costs no call; a crossing costs one write."""

    def __init__(self, topups: TopupRepository, clock: Clock) -> None:
        self.topups = topups
        self.clock = clock

    async def __call__(self, session: Session, facts: list[Any]) -> None:
        moves: dict[str, list[Fact]] = {}
        corrected: set[str] = set()
        for fact in facts:
            if isinstance(fact, Fact) and fact.kind == "balance":
                moves.setdefault(fact.account_id, []).append(fact)
            elif isinstance(fact, Fact) and fact.kind == "entry" and fact.doc["type"] in TAKEN_BACK:
                corrected.add(fact.account_id)
        now = self.clock.now()
        for account_id, noted in moves.items():
            if account_id in corrected:
                continue
            account = noted[-1].doc  # as the unit of work leaves it
            settings = account.get("auto_topup")
            # One evaluation per unit: its first balance before, its last after.
            before, after = available(noted[0].account_before), available(account)
            if settings is not None and crosses(before, after, settings, now):
                trigger = {
                    "available_before": before,
                    "available_after": after,
                    "threshold": settings["threshold"],
                }
                await self.topups.record_open(
                    session, account_id, settings.get("round", 0), trigger, now
                )
