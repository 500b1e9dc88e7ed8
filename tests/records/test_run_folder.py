"""The run folder's rules (gps.records.run_folder): what starts, resumes or continues a run."""

import json
import os

import pytest

from conftest import ROOT
from experiments.sweeps import load_config
from gps.errors import ConfigError
from gps.records import run_folder
from gps.testbed.config import upgrade_recorded


def _config(**overrides):
    config = load_config(os.path.join(ROOT, "configs", "countdown.py"), "selector=mopps,smoke")
    config.update_from_flattened_dict(overrides)
    return config


def test_a_new_folder_gets_the_config_and_the_same_config_resumes(tmp_path):
    run_folder.prepare(str(tmp_path), _config(), None)
    assert run_folder.load_config(str(tmp_path)).to_json(sort_keys=True) == _config().to_json(
        sort_keys=True
    )
    run_folder.prepare(str(tmp_path), _config(**{"base.cache_dir": "elsewhere"}), 2)  # a path


def test_another_config_is_refused_and_the_folder_is_untouched(tmp_path):
    run_folder.prepare(str(tmp_path), _config(), None)
    before = open(run_folder.path(str(tmp_path), run_folder.CONFIG)).read()
    with pytest.raises(ConfigError, match="holds a run with a different config"):
        run_folder.prepare(str(tmp_path), _config(**{"rl.lr": 1e-3}), 2)
    assert open(run_folder.path(str(tmp_path), run_folder.CONFIG)).read() == before


def test_more_steps_continue_a_finished_run_and_fewer_than_done_are_refused(tmp_path):
    workdir = str(tmp_path)
    run_folder.prepare(workdir, _config(), None)
    run_folder.write_json(run_folder.path(workdir, run_folder.SUMMARY), {"steps": 3})
    assert run_folder.finished_steps(workdir) == 3
    with pytest.raises(ConfigError, match="already at step 3, past config.steps=2"):
        run_folder.prepare(workdir, _config(steps=2), 3)
    assert run_folder.finished_steps(workdir) == 3  # the refused call removed nothing
    run_folder.prepare(workdir, _config(steps=6), 3)
    assert run_folder.finished_steps(workdir) is None  # unfinished again
    assert run_folder.load_config(workdir).steps == 6


def test_a_run_made_before_the_embedding_block_existed_resumes(tmp_path):
    """config.json files of older runs have no `selector.embedding` where no part read it:
    the same run, so it resumes as the trainer reads it (and a changed value still does not)."""
    workdir = str(tmp_path)
    recorded = json.loads(_config().to_json())
    del recorded["selector"]["embedding"]
    with open(run_folder.path(workdir, run_folder.CONFIG), "w") as f:
        json.dump(recorded, f)
    with pytest.raises(ConfigError, match="different config"):  # read as it is
        run_folder.prepare(workdir, _config(), 2)
    run_folder.prepare(workdir, _config(), 2, upgrade_recorded)
    with pytest.raises(ConfigError, match="different config"):
        run_folder.prepare(workdir, _config(**{"selector.embedding.dim": 64}), 2, upgrade_recorded)


def test_a_folder_without_a_config_is_not_a_run(tmp_path):
    assert not run_folder.is_run(str(tmp_path))
    with pytest.raises(ConfigError, match="is not a run folder"):
        run_folder.load_config(str(tmp_path))
