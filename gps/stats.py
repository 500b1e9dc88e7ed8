"""Confidence intervals over replicates (seeds, runs), shared by the reports and studies."""

import numpy as np
from scipy import stats

Z95 = 1.96  # two-sided 95% normal quantile: paired intervals over many prompts


def mean_ci(values) -> tuple[float, float]:
    """Mean and Student-t 95% CI half-width over replicates (0 for a single one)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n < 2:
        return float(values[0]), 0.0
    return float(values.mean()), float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n))
