"""RetailFeed: a per-retailer product and price ingestion pipeline (confops's second example)."""
