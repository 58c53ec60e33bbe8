"""Accounts: shoppers, producer staff and operators; sign-up, sign-in, addresses."""
