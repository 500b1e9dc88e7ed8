"""Benchmarks: the testbed's speed (`testbed`) and the selectors' cost on large pools
(`selectors`)."""
