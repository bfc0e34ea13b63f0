"""HTTP routers: thin, they parse, authorize, call the ledger or webhooks, and shape answers."""
