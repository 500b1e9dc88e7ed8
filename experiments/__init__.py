"""Sweeps, reports, test-time tools, benchmarks and studies over run folders."""
