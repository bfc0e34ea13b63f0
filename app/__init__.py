"""Credit Ledger: Stripe webhooks in, a credit ledger and access decisions out."""

# The one place the version is written: pyproject.toml reads it, and /openapi.json shows it.
__version__ = "0.1.0"
