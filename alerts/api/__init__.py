"""The REST API of alerts, one module per resource: rules, channels (and their kinds), alerts,
incidents, silences, runbooks, and the sources with their state and the settings an operator
tunes (owner, pause, expected cron, rule overrides); what they share in ``common``.

Every change goes through ``alerts/operations.py``, the same functions as the portal, so it is
validated as the admin validates (``full_clean`` and the rule kind's parameter model) and audited
as the token's owner, labelled with the token (``API token <name> (<prefix>…)``).
"""

from ninja import Router

from alerts.api import (
    alerts,
    channels,
    incidents,
    overrides,
    rules,
    runbooks,
    silences,
    sources,
)

# In this order, the order of the paths in the OpenAPI schema.
router = Router()
for resource in (sources, rules, channels, alerts, incidents, silences, runbooks, overrides):
    router.add_router("", resource.router)
