"""Adapters to outside systems: mail, search, Stripe, remittance files."""
