"""Test-time allocation over trained runs: `score` one run, `summary` over runs."""
