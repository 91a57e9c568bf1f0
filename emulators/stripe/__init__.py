"""A local stand-in for Stripe's read API (charges, subscriptions, refunds, balance
transactions, customers, prices), backed by SQLite. See README.md in this folder."""
