"""Test-time allocation of a sample budget by a trained predictor (docs/method.md §3)."""
