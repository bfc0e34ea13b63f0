"""Credit Ledger: Stripe webhooks in, a credit ledger and access decisions out."""
