"""One account's whole story: ledger entries, holds, Stripe events and outgoing events."""
