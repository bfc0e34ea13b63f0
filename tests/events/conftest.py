"""Outgoing-event fixtures: the webhook side's Stripe event factory and app builder."""

from tests.webhooks.conftest import app_with, events  # noqa: F401 - fixtures shared
