"""Billing: the plan catalog and what subscriptions and packs are worth in credits."""
