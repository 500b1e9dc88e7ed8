"""Prompt embeddings for difficulty models and diversity: WordLlama, computed once and cached.

WordLlama (static token embeddings, 256-d; the paper's choice) ships its weights in the
package, so it loads offline. Embeddings are cached per pool under `cache_dir` (by default
the user's cache, `$GPS_CACHE_DIR` or `~/.cache/gps`, wherever the process runs), keyed by
the texts and the embedder's settings. `standardize` centres on the pool mean and
rescales to unit norm: raw WordLlama vectors of templated prompts are all ~0.8 cosine
apart, and centring makes cosine distance reflect what differs between prompts.
"""

import functools
import hashlib
import json
import os

import numpy as np

from gps.selectors.settings import Between, OneOf, Setting, check_keys, check_values, defaults_of

EMBEDDERS = ("wordllama",)
DIMS = Between(1, 256)  # WordLlama's Matryoshka dimensions
# The `selector.embedding` block of every predictive selector (whether a part reads it or not).
SETTINGS = {
    "name": Setting("wordllama", OneOf(EMBEDDERS)),
    "dim": Setting(256, DIMS),
    "cache_dir": Setting("", location=True),  # "": the user's cache (resolve_cache_dir)
}
DEFAULTS = defaults_of(SETTINGS, "the prompt embedder")


def check_config(cfg) -> None:
    """The `selector.embedding` block: its keys, a known embedder and a dimension it has."""
    check_keys(cfg, "embedding", "the prompt embedder", DEFAULTS)
    check_values(cfg, "embedding", SETTINGS)


@functools.lru_cache(maxsize=None)
def _wordllama(dim: int):
    """The model, loaded from the package's weights once per process."""
    import wordllama  # imported on first use: only GPS-style selectors need it

    return wordllama.WordLlama.load(
        cache_dir=os.path.dirname(wordllama.__file__),
        disable_download=True,
        trunc_dim=dim if dim < 256 else None,
    )


def embed(texts, dim: int = 256) -> np.ndarray:
    """[N, dim] float32 WordLlama embeddings (unit norm) of `texts`."""
    if not DIMS.holds(dim):
        raise ValueError(f"embedding dim must be {DIMS} (WordLlama), got {dim}")
    return np.asarray(_wordllama(dim).embed(list(texts), norm=True), np.float32)


def resolve_cache_dir(cache_dir: str) -> str:
    """`cache_dir`, or the user's cache when it is empty (not the working directory: the
    selector runs inside other trainers, started from anywhere)."""
    if cache_dir:
        return os.path.expanduser(cache_dir)
    root = os.environ.get("GPS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gps"
    )
    return os.path.join(root, "embeddings")


def cached_embed(texts, dim: int, cache_dir: str = "") -> np.ndarray:
    """`embed`, read from (or written atomically to) the cache when it holds these texts."""
    cache_dir = resolve_cache_dir(cache_dir)
    digest = hashlib.sha256(json.dumps(list(texts)).encode()).hexdigest()[:16]
    path = os.path.join(cache_dir, f"wordllama-{dim}-{len(texts)}-{digest}.npy")
    if os.path.exists(path):
        return np.load(path)
    vectors = embed(texts, dim)
    os.makedirs(cache_dir, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}.npy"
    np.save(tmp, vectors)
    os.replace(tmp, path)
    return vectors


def standardize(vectors: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Centres on `mean` (the pool's) and rescales each row to unit norm."""
    centred = vectors - mean
    return (centred / np.maximum(np.linalg.norm(centred, axis=-1, keepdims=True), 1e-6)).astype(
        np.float32
    )
