import errno

import pytest
import torch

from evofool import checkpoints
from evofool.checkpoints import CheckpointError, checkpoint_paths, load_checkpoint, write_checkpoint


def test_keeps_the_last_k(tmp_path):
    for generation in range(5):
        write_checkpoint(tmp_path, {"generation": generation}, generation=generation, keep=3)
    assert [p.name for p in checkpoint_paths(tmp_path)] == [
        "ckpt-000000002.pt", "ckpt-000000003.pt", "ckpt-000000004.pt"]
    state, path, skipped = load_checkpoint(tmp_path)
    assert state["generation"] == 4 and not skipped


def test_truncated_newest_falls_back_to_the_previous(tmp_path):
    for generation in (10, 20):
        write_checkpoint(tmp_path, {"generation": generation, "weights": torch.rand(1000)},
                         generation=generation, keep=3)
    newest = checkpoint_paths(tmp_path)[-1]
    newest.write_bytes(newest.read_bytes()[:500])
    state, path, skipped = load_checkpoint(tmp_path)
    assert state["generation"] == 10 and path.name == "ckpt-000000010.pt"
    assert "ckpt-000000020.pt is unreadable" in skipped[0]


def test_no_usable_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="no usable checkpoint"):
        load_checkpoint(tmp_path)


def test_disk_full_leaves_earlier_checkpoints_and_no_partial_file(tmp_path, monkeypatch):
    write_checkpoint(tmp_path, {"generation": 1}, generation=1, keep=3)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoints.torch, "save", disk_full)
    with pytest.raises(CheckpointError, match="No space left on device"):
        write_checkpoint(tmp_path, {"generation": 2}, generation=2, keep=3)
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["ckpt-000000001.pt"]
    assert load_checkpoint(tmp_path)[0]["generation"] == 1
