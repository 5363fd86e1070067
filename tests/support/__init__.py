"""Shared test infrastructure: a real PostgreSQL, a real API server, free ports."""
