"""Orbax checkpoints of pytrees of arrays, with unreadable ones reported clearly."""

import os

import jax
import numpy as np
import orbax.checkpoint as ocp

from gps.errors import CheckpointError


def _leaf_template(x):
    if isinstance(x, jax.ShapeDtypeStruct):
        return x
    if isinstance(x, jax.Array):  # restored onto the template's devices and sharding
        return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding)
    return jax.ShapeDtypeStruct(np.shape(x), np.asarray(x).dtype)


def abstract(tree):
    """Shape/dtype (and, for device arrays, sharding) template of a pytree, for restoring
    into the same structure and layout."""
    return jax.tree.map(_leaf_template, tree)


CHECKPOINTS = "checkpoints"  # the folder of a run's checkpoints, inside its workdir


class Checkpointer:
    """Step-numbered checkpoints of the whole training state under `workdir/checkpoints`."""

    def __init__(self, workdir: str, max_to_keep: int = 2):
        self.directory = os.path.abspath(os.path.join(workdir, CHECKPOINTS))
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
        )

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def save(self, step: int, state) -> None:
        self._manager.save(step, args=ocp.args.StandardSave(state))
        self._manager.wait_until_finished()

    def restore(self, step: int, template):
        try:
            return self._manager.restore(step, args=ocp.args.StandardRestore(abstract(template)))
        except Exception as e:  # orbax raises many types for a damaged or mismatched checkpoint
            raise _unreadable(f"{self.directory}/{step}", e) from e


def save_tree(path: str, tree, overwrite: bool = False) -> None:
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(os.path.abspath(path), tree, force=overwrite)


def restore_tree(path: str, template):
    try:
        with ocp.StandardCheckpointer() as ckptr:
            return ckptr.restore(os.path.abspath(path), abstract(template))
    except Exception as e:
        raise _unreadable(path, e) from e


def _unreadable(path: str, e: Exception) -> CheckpointError:
    first_line = (str(e).splitlines() or [""])[0][:200]
    return CheckpointError(
        f"checkpoint {path} is unreadable ({type(e).__name__}: {first_line}); "
        "move it away to start over"
    )
