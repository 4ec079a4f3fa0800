"""Accounts: activation, two-factor login (passkeys, password + TOTP), sessions and throttling."""
