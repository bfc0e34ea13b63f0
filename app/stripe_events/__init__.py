"""Stripe webhooks: signature check, event log, account resolution, one handler per family."""
