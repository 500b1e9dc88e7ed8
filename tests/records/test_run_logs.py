"""TensorBoard copies of the JSONL logs: every number at its step, and a resume purges what it
logs again. The event files are read back with their own protobufs (TFRecord framing)."""

import glob
import os
import struct

import pytest

from tensorboardX.proto import event_pb2

from gps.records.run_logs import RunLogs


def _events(folder):
    """{tag: {step: value}} of the scalars in a folder's event files, honouring purge events
    (a SessionLog START at step s discards what came before it at steps ≥ s), as TensorBoard."""
    scalars = {}
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        with open(path, "rb") as f:
            data = f.read()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset : offset + 8])
            event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
            offset += 12 + length + 4
            if event.HasField("session_log") and event.session_log.status == 1:  # START
                for steps in scalars.values():
                    for step in [s for s in steps if s >= event.step]:
                        del steps[step]
            for value in event.summary.value:
                scalars.setdefault(value.tag, {})[event.step] = value.simple_value
    return scalars


def test_logs_mirror_to_tensorboard_and_resume_purges(tmp_path):
    with RunLogs(str(tmp_path), None) as logs:
        for step in (1, 2, 3):
            logs.step({"step": step, "loss": float(step), "note": "text", "flag": True})
        logs.evaluation({"step": 0, "cd34/mean@8": 0.5})
        logs.evaluation({"step": 2, "cd34/mean@8": 0.25})
    train = _events(tmp_path / "tensorboard" / "train")
    assert train == {"loss": {1: 1.0, 2: 2.0, 3: 3.0}}  # text and bools are not scalars
    # TensorBoard tags cannot hold "@": tensorboardX writes it as "_".
    assert _events(tmp_path / "tensorboard" / "eval") == {"cd34/mean_8": {0: 0.5, 2: 0.25}}

    with RunLogs(str(tmp_path), 2) as logs:  # resumed from the step-2 checkpoint
        assert [r["step"] for r in logs.metrics.read()] == [1, 2]
        assert [r["step"] for r in logs.evals.read()] == [0]
        logs.step({"step": 3, "loss": 30.0})
        logs.evaluation({"step": 2, "cd34/mean@8": 0.75})
    assert _events(tmp_path / "tensorboard" / "train") == {"loss": {1: 1.0, 2: 2.0, 3: 30.0}}
    assert _events(tmp_path / "tensorboard" / "eval") == {"cd34/mean_8": {0: 0.5, 2: 0.75}}


def test_a_crash_still_writes_the_tensorboard_events_logged_before_it(tmp_path):
    with pytest.raises(RuntimeError), RunLogs(str(tmp_path), None) as logs:
        logs.step({"step": 1, "loss": 1.0})
        raise RuntimeError("the step after crashed")
    assert _events(tmp_path / "tensorboard" / "train") == {"loss": {1: 1.0}}
