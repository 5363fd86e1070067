"""assistant_tui."""
