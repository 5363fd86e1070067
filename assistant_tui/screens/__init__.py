"""Screens of the workspace (sign-in and passphrase screens belong to start-up)."""
