"""Daily health reports (built by the reports issue)."""
