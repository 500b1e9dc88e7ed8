"""Predictor diagnostics (docs/method.md §4): how well predicted success rates rank outcomes."""

import numpy as np
from scipy import stats


def spearman(predicted, observed) -> float | None:
    """Spearman ρ (ties averaged); None when either side is constant or missing."""
    if predicted is None or len(predicted) < 2:
        return None
    predicted, observed = np.asarray(predicted, float), np.asarray(observed, float)
    if np.ptp(predicted) == 0 or np.ptp(observed) == 0:
        return None
    return float(stats.spearmanr(predicted, observed).statistic)


def prediction_metrics(predicted, observed, prefix: str = "pred") -> dict:
    """`{prefix}_spearman` and `{prefix}_mae`, null (None) for selectors without predictions."""
    if predicted is None:
        return {f"{prefix}_spearman": None, f"{prefix}_mae": None}
    mae = float(np.abs(np.asarray(predicted, float) - np.asarray(observed, float)).mean())
    return {f"{prefix}_spearman": spearman(predicted, observed), f"{prefix}_mae": mae}
