"""The operator UI of alerts: the alerts pages, silences and the runbook wiki.

Every page needs its ``view_*`` permission and every action its own
(confops/accounts/roles.py), checked here on the server whatever the page showed. One view
serves the page or, for htmx, the fragment.
"""
