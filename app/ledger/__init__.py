"""The credit ledger: accounts, grants, debits, reservations, expiry."""
