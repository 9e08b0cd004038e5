"""Report an asset event outside any run, as an external system would (``report_runless``).

Usage (with the webserver's ``DAGSTER_HOME`` in the environment)::

    python -m retailfeed.runless materialization retail/acme/products --rows 1200 \
        [--partition 2026-12-01] [--key dagster/row_count]
    python -m retailfeed.runless observation retail/supplier/master_feed --rows 5000

It writes straight into the instance's event log (``DagsterInstance.report_runless_asset_event``),
so the event has no run id: what ``reportRunlessAssetEvents`` does from the UI, plus metadata.
"""

import argparse
import sys
from collections.abc import Sequence

import dagster as dg

from retailfeed.catalog import PRODUCT_VOLUME_KEY


def report(
    kind: str,
    asset_path: str,
    rows: int,
    partition: str | None = None,
    key: str = PRODUCT_VOLUME_KEY,
) -> None:
    """Write one runless materialization or observation of ``asset_path`` with ``rows``."""
    metadata = {key: dg.MetadataValue.int(rows)}
    asset_key = dg.AssetKey(asset_path.split("/"))
    event: dg.AssetMaterialization | dg.AssetObservation
    if kind == "materialization":
        event = dg.AssetMaterialization(asset_key=asset_key, partition=partition, metadata=metadata)
    else:
        event = dg.AssetObservation(asset_key=asset_key, partition=partition, metadata=metadata)
    with dg.DagsterInstance.get() as instance:
        instance.report_runless_asset_event(event)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m retailfeed.runless``."""
    parser = argparse.ArgumentParser(prog="python -m retailfeed.runless", description=__doc__)
    parser.add_argument("kind", choices=["materialization", "observation"])
    parser.add_argument("asset", help="slash-joined asset key, e.g. retail/acme/products")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--partition")
    parser.add_argument("--key", default=PRODUCT_VOLUME_KEY, help="metadata key of the volume")
    args = parser.parse_args(argv)
    report(args.kind, args.asset, args.rows, args.partition, args.key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
