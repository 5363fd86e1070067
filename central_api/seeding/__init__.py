"""Pieces of the synthetic practice world; `central_api.seed.seed_database` assembles them."""
