"""The devices a run trains on: a 1-D `jax.sharding` mesh with a "data" axis.

Rollouts and GRPO batches are split along their rows over the mesh (data parallel); the
policy's parameters (and the optimizer state that mirrors them) are either replicated or
sharded along one axis each (`parallel.params = "sharded"`, FSDP-style: jit gathers them
where a layer needs them). With `jax_threefry_partitionable` (JAX's default) random draws do
not depend on the sharding, so a run on 4 devices samples the same tokens as one on 1, up
to the float tolerance of reordered reductions. The same code runs on CPU, GPU or TPU.
"""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from gps.errors import ConfigError

PARAM_LAYOUTS = ("replicated", "sharded")


def make_mesh(devices: int, rows_per_step: int) -> Mesh:
    """A mesh over the first `devices` devices (0: all); every batch of `rows_per_step` rows
    (B prompts × n rollouts) must split evenly over them."""
    available = jax.devices()
    count = devices or len(available)
    if count > len(available):
        raise ConfigError(
            f"config.parallel.devices={devices} but only {len(available)} devices are visible"
        )
    if rows_per_step % count:
        raise ConfigError(
            f"batch_size × n_rollouts = {rows_per_step} rows do not split over {count} devices; "
            "set config.parallel.devices to a divisor"
        )
    return Mesh(np.asarray(available[:count]), ("data",))


def data_sharding(mesh: Mesh) -> NamedSharding:
    """Rows (the leading axis) split over the mesh."""
    return NamedSharding(mesh, PartitionSpec("data"))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def _param_sharding(mesh: Mesh, shape: tuple[int, ...], layout: str) -> NamedSharding:
    """Replicated, or split along the largest axis the device count divides (else replicated)."""
    n = mesh.devices.size
    axes = [a for a in np.argsort(shape)[::-1] if shape[a] % n == 0 and shape[a] >= n]
    if layout == "replicated" or n == 1 or not axes:
        return replicated(mesh)
    spec = [None] * len(shape)
    spec[axes[0]] = "data"
    return NamedSharding(mesh, PartitionSpec(*spec))


def place_params(tree, mesh: Mesh, layout: str):
    """Puts a pytree of parameters (or optimizer state) on the mesh in `layout`."""
    return jax.tree.map(
        lambda x: jax.device_put(x, _param_sharding(mesh, np.shape(x), layout)), tree
    )
