"""Ingest benchmark: single-feedback throughput against a no-op endpoint, batch ingestion, open-loop latency."""
