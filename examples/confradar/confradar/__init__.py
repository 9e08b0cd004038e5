"""ConfRadar: a stand-in conference-scraping pipeline for exercising the ops portal offline.

Everything here is synthetic: the scrapers invent realistic records instead of fetching pages, and
faults (failures, low counts, slowness, duplicates) are injected at run time from a JSON file or
environment variables, so a portal can be tested against a real Dagster without any network.
"""

__version__ = "0.1.0"
