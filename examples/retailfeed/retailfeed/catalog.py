"""Deterministic product and price feeds per retailer and day, generated locally (no network).

A real project would download each retailer's feed; here each (retailer, day) seeds a random
generator, so a partition re-run yields the same SKUs and a volume drop is the fault's only doing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

START_DATE = "2026-11-01"
PRODUCT_VOLUME_KEY = "dagster/row_count"
PRICE_VOLUME_KEY = "sku_count"
SUMMARY_VOLUME_KEY = "Number of records"


@dataclass(frozen=True)
class Retailer:
    """One retailer's feed: where it would come from and how many SKUs it usually lists."""

    name: str
    feed_url: str
    typical_skus: int
    failure_message: str
    error_type: str


RETAILERS: dict[str, Retailer] = {
    r.name: r
    for r in (
        Retailer(
            "acme",
            "https://feeds.acme.example/products.csv",
            1200,
            "acme feed: HTTP 502 Bad Gateway from feeds.acme.example",
            "ConnectionError",
        ),
        Retailer(
            "borealis",
            "https://api.borealis.example/v2/catalog",
            800,
            "borealis API: 401 Unauthorized (token expired)",
            "PermissionError",
        ),
        Retailer(
            "corvid",
            "sftp://drop.corvid.example/daily/catalog.json",
            450,
            "corvid drop: catalog.json truncated at byte 65536",
            "ValueError",
        ),
        Retailer(
            "dunmore",
            "https://dunmore.example/export?format=ndjson",
            300,
            "dunmore export: read timed out after 30 s",
            "TimeoutError",
        ),
    )
}


def asset_path(retailer: str, table: str) -> str:
    """The slash-joined asset key confops and the faults file use: ``retail/acme/products``."""
    return f"retail/{retailer}/{table}"


def product_rows(retailer: str, day: str, factor: float = 1.0) -> list[dict[str, object]]:
    """The day's product rows for ``retailer`` (about its typical count, ±5 %), times ``factor``."""
    spec = RETAILERS[retailer]
    rng = random.Random(f"{retailer}/{day}")
    count = round(spec.typical_skus * rng.uniform(0.95, 1.05) * factor)
    return [
        {
            "sku": f"{retailer[:3].upper()}-{i:06d}",
            "title": f"Item {i}",
            "in_stock": rng.random() > 0.1,
        }
        for i in range(count)
    ]


def price_rows(products: list[dict[str, object]], day: str) -> list[dict[str, object]]:
    """One price per product SKU, positive."""
    rng = random.Random(f"prices/{day}/{len(products)}")
    return [{"sku": p["sku"], "price": round(rng.uniform(0.5, 250.0), 2)} for p in products]
