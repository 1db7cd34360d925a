import errno

import pytest
import torch

from evofool.run import checkpoints
from evofool.run.checkpoints import (
    CheckpointError,
    RunIdentity,
    checkpoint_paths,
    load_checkpoint,
    write_checkpoint,
)

RUN = RunIdentity(run_id="a" * 32, config_fingerprint="c" * 16, model_fingerprint="m" * 16,
                  encoding="cppn")


def test_keeps_the_last_k(tmp_path):
    for generation in range(5):
        write_checkpoint(tmp_path, {"generation": generation}, generation=generation, keep=3,
                         identity=RUN)
    assert [p.name for p in checkpoint_paths(tmp_path)] == [
        "ckpt-000000002.pt", "ckpt-000000003.pt", "ckpt-000000004.pt"]
    state, path, skipped = load_checkpoint(tmp_path, RUN)
    assert state["generation"] == 4 and not skipped


def test_truncated_newest_falls_back_to_the_previous(tmp_path):
    for generation in (10, 20):
        write_checkpoint(tmp_path, {"generation": generation, "weights": torch.rand(1000)},
                         generation=generation, keep=3,
                         identity=RUN)
    newest = checkpoint_paths(tmp_path)[-1]
    newest.write_bytes(newest.read_bytes()[:500])
    state, path, skipped = load_checkpoint(tmp_path, RUN)
    assert state["generation"] == 10 and path.name == "ckpt-000000010.pt"
    assert "ckpt-000000020.pt is unreadable" in skipped[0]


def test_no_usable_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="no usable checkpoint"):
        load_checkpoint(tmp_path, RUN)


def test_disk_full_leaves_earlier_checkpoints_and_no_partial_file(tmp_path, monkeypatch):
    write_checkpoint(tmp_path, {"generation": 1}, generation=1, keep=3, identity=RUN)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoints.torch, "save", disk_full)
    with pytest.raises(CheckpointError, match="No space left on device"):
        write_checkpoint(tmp_path, {"generation": 2}, generation=2, keep=3, identity=RUN)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "ckpt-000000001.pt", "ckpt-000000001.pt.sha256"]
    assert load_checkpoint(tmp_path, RUN)[0]["generation"] == 1


@pytest.mark.parametrize(("field", "value", "named"), [
    ("run_id", "b" * 32, "run id"),
    ("config_fingerprint", "d" * 16, "config fingerprint"),
    ("model_fingerprint", "n" * 16, "model fingerprint"),
    ("encoding", "direct", "encoding"),
])
def test_a_checkpoint_of_another_run_is_refused_naming_what_differs(tmp_path, field, value,
                                                                    named):
    write_checkpoint(tmp_path, {"generation": 1}, generation=1, keep=3, identity=RUN)
    foreign = RunIdentity(**{**RUN.__dict__, field: value})
    write_checkpoint(tmp_path, {"generation": 121}, generation=121, keep=3, identity=foreign)
    with pytest.raises(CheckpointError, match=f"ckpt-000000121.pt belongs to another run "
                                              f"\\({named} "):
        load_checkpoint(tmp_path, RUN)


def test_force_allows_a_changed_config_or_model_but_never_another_run(tmp_path):
    changed = RunIdentity(**{**RUN.__dict__, "config_fingerprint": "d" * 16,
                             "model_fingerprint": "n" * 16})
    write_checkpoint(tmp_path, {"generation": 3}, generation=3, keep=3, identity=changed)
    assert load_checkpoint(tmp_path, RUN, force=True)[0]["generation"] == 3
    other_run = RunIdentity(**{**changed.__dict__, "run_id": "b" * 32})
    write_checkpoint(tmp_path, {"generation": 4}, generation=4, keep=3, identity=other_run)
    with pytest.raises(CheckpointError, match="run id"):
        load_checkpoint(tmp_path, RUN, force=True)


def test_an_untied_checkpoint_loads_only_into_a_run_made_before_run_ids(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    torch.save({"format": checkpoints.FORMAT, "version": checkpoints.UNTIED_VERSION,
                "generation": 7}, tmp_path / "checkpoints" / "ckpt-000000007.pt")
    legacy = RunIdentity(**{**RUN.__dict__, "run_id": None})
    assert load_checkpoint(tmp_path, legacy)[0]["generation"] == 7
    with pytest.raises(CheckpointError, match="carries no run id"):
        load_checkpoint(tmp_path, RUN)


def test_a_bit_flipped_inside_the_payload_is_found_and_skipped(tmp_path):
    """A flip inside a tensor's bytes still loads as a valid file, with other numbers; the
    SHA-256 written beside each checkpoint finds it, and the resume falls back."""
    weights = torch.rand(1000)
    for generation in (10, 20):
        write_checkpoint(tmp_path, {"generation": generation, "weights": weights},
                         generation=generation, keep=3, identity=RUN)
    newest = checkpoint_paths(tmp_path)[-1]
    data = bytearray(newest.read_bytes())
    position = bytes(data).find(weights[:4].numpy().tobytes())  # inside the tensor's storage
    data[position + 1] ^= 0x10
    newest.write_bytes(bytes(data))
    assert torch.load(newest, weights_only=True)["generation"] == 20  # loads, but is wrong
    state, path, skipped = load_checkpoint(tmp_path, RUN)
    assert state["generation"] == 10 and torch.equal(state["weights"], weights)
    assert "ckpt-000000020.pt is unreadable" in skipped[0] and "SHA-256" in skipped[0]


def test_pruning_removes_each_checkpoints_digest_too(tmp_path):
    for generation in range(4):
        write_checkpoint(tmp_path, {}, generation=generation, keep=2, identity=RUN)
    names = sorted(path.name for path in (tmp_path / "checkpoints").iterdir())
    assert names == ["ckpt-000000002.pt", "ckpt-000000002.pt.sha256",
                     "ckpt-000000003.pt", "ckpt-000000003.pt.sha256"]


def test_a_checkpoint_from_before_digests_still_loads(tmp_path):
    write_checkpoint(tmp_path, {"generation": 3}, generation=3, keep=3, identity=RUN)
    (tmp_path / "checkpoints" / "ckpt-000000003.pt.sha256").unlink()
    assert load_checkpoint(tmp_path, RUN)[0]["generation"] == 3
