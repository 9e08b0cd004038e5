"""What the pages that combine observation and judgement read: the status page (grid and run
timeline, coloured by open alerts) and a source's page (its runs beside its alerts and rules).

They live in alerts, the higher layer, because monitoring knows nothing of alerts; their pure
parts (a source's state, the timeline's geometry, the trend) stay in monitoring.
"""
