"""Requests from the tools on-call people use, acting on confops: Slack button presses (HTTP
request URL or Socket Mode), PagerDuty webhooks, one-use acknowledge links (Teams cards).

Each is authenticated by its own proof, not a session: Slack's and PagerDuty's HMAC signatures,
a signed link (which still asks for a login). A request is acted on once (``InboundRequest``),
the person behind it is mapped to a confops user whose role decides, and the action goes
through the same operation as the portal's (``alerts/operations.py``), audited.
"""
