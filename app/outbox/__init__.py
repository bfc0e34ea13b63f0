"""Outgoing events: what happened to an account, pulled as a list or pushed as signed webhooks."""
