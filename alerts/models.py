"""Alert rules, alerts, silences, channels and the notification outbox (the alert issue)."""
