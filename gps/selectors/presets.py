"""Default config blocks of the named selectors; a config file uses `selector_config(name)`.

Predictive selectors (uniform, mopps, gps) share one layout, so any part can be swapped
from the command line (`--config.selector.acquisition.name=threshold`): every model's
settings sit in `model.<model name>`, and the acquisition settings in one flat block.
"""

import ml_collections

from gps.selectors.base import SELECTORS


def _acquisition(name: str, **overrides) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.name = name
    c.target = 0.5  # γ*: the success rate that is most informative (GPS Eq. 12)
    c.band = (0.3, 0.7)  # `threshold`: the band of predicted success rates to draw from
    c.diversity = 0.0  # λ_div: weight of the diversity term D(B) in `diverse`
    c.inter_step = True  # `diverse`: include the inter-step exploration term
    c.window = 4  # batches of history for the inter-step term
    c.shortlist = 8  # `diverse`: greedy over the shortlist·B best-u candidates; 0 = all
    c.update(overrides)
    return c


def _models(name: str) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.name = name
    c.beta = ml_collections.ConfigDict(
        {"alpha0": 1.0, "beta0": 1.0, "decay": 0.5}  # MoPPS: Beta(1,1) prior, λ (countdown)
    )
    c.gps = ml_collections.ConfigDict(
        {
            "latent": "bayesian",  # or "deterministic" (ablation: z = prior mean, no KL)
            "z_dim": 8,
            "hidden": 64,
            "encoder_layers": 2,
            "decoder_layers": 1,
            "samples": 4,  # M: prior draws of z averaged per prediction (Eq. 10)
            "lr": 3e-3,
            "svi_steps": 4,  # SVI steps per RL step
            "replay": 8,  # most recent (H_{t-1}, H_t) pairs in each ELBO
            "particles": 1,  # ELBO Monte Carlo particles
        }
    )
    return c


def selector_config(name: str) -> ml_collections.ConfigDict:
    """The config block of selector `name` with its paper defaults."""
    SELECTORS.get(name)  # unknown names: a ConfigError listing the known ones
    if name == "ds":
        return ml_collections.ConfigDict({"name": "ds", "round_size": 0, "max_rounds": 8})
    c = ml_collections.ConfigDict()
    c.name = name
    c.candidates = 0  # 0: the whole pool; k: k·B prompts drawn uniformly (MoPPS ts_ratio)
    c.embedding = ml_collections.ConfigDict(
        {"name": "wordllama", "dim": 256, "cache_dir": "cache/embeddings"}
    )
    if name == "mopps":
        c.candidates = 8  # ts_ratio of the reference countdown scripts
        c.model = _models("beta")
        c.acquisition = _acquisition("topk")
    elif name == "gps":
        # Fresh random candidates each step, as MoPPS: over the whole pool the greedy picks
        # the same prompts step after step and the policy memorises them (measured).
        c.candidates = 8
        c.model = _models("gps")
        c.acquisition = _acquisition("diverse", diversity=0.1)
    else:
        c.model = _models("none")
        c.acquisition = _acquisition("uniform")
    return c
