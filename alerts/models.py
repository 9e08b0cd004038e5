"""Alert rules, alerts, silences, channels and the notification outbox (built by the alert issue)."""
