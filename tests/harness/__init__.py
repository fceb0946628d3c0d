"""Real local services for tests, molecule, the demo and benchmarks (see services.py)."""
