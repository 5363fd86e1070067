"""local_cache."""
