"""backend_client."""
