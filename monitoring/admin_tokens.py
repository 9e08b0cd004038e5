"""Admin for API tokens (written with the push API)."""
