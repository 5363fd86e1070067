"""followup_core."""
