"""Confidence intervals over replicates (seeds, runs), shared by the reports and studies."""

import numpy as np
from scipy import stats

Z95 = 1.96  # two-sided 95% normal quantile: paired intervals over many prompts


def mean_ci(values) -> tuple[float, float]:
    """Mean and Student-t 95% CI half-width over replicates (NaN for a single one: one
    replicate has no interval, and 0 would read as an exact value)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n < 2:
        return float(values[0]), float("nan")
    return float(values.mean()), float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n))


def plus_minus(mean: float, half: float, fmt: str = ".3f", sign: str = " ± ") -> str:
    """`mean ± half` in `fmt` (the half-width unsigned), or the mean alone without an interval
    (NaN half-width: one replicate); `sign` is r" \\pm " for LaTeX."""
    text = f"{mean:{fmt}}"
    return text if np.isnan(half) else f"{text}{sign}{half:{fmt.lstrip('+')}}"
