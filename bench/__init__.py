"""Benchmarks that start the real web process beside a bare Bolt app, and warm-path profiles."""
