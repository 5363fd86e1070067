"""Settings, security and request plumbing of the central API."""
