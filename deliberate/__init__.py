"""Runs: the background worker, batches, the SQLite run store, reports and the CLI."""
