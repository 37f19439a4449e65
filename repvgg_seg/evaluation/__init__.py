"""Metrics (filled in by the classification work)."""
