"""Inputs someone else made (files sent with a run, crafted configs, odd numbers) reach one
line naming the problem and exit 2, never a traceback, and leave nothing behind."""

import os
import pickle

import pytest
import torch
from conftest import CONFIGS

from evofool.cli.main import main


class Payload:
    """A pickle that would create a file as it loads, if anything loaded it unsafely."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def one_line_error(capsys, code):
    err = capsys.readouterr().err
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("evofool: error:")]
    assert len(errors) == 1 and "internal error" not in err and "Traceback" not in err, err
    return errors[0]


@pytest.fixture
def pickle_file(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    torch.save({"images": torch.zeros(2, 1, 28, 28, dtype=torch.uint8), "x": Payload(marker)},
               path, pickle_module=pickle)
    return path, marker


@pytest.mark.parametrize("option", ["--in-distribution", "--fooling", "--fit-on"])
def test_ood_refuses_a_pickle_bearing_pt_without_advising_the_unsafe_load(
        small_lenets, pickle_file, tmp_path, capsys, option):
    path, marker = pickle_file
    args = {"--in-distribution": "uniform-noise", "--fooling": "uniform-noise",
            "--fit-on": "uniform-noise", option: str(path)}
    code = main(["ood", str(small_lenets[0]), "--out", str(tmp_path / "o"),
                 "--detectors", "mahalanobis", "--fit-images", "50",
                 *[item for pair in args.items() for item in pair]])
    err = one_line_error(capsys, code)
    assert "refused" in err and "weights_only" not in err and str(path) in err
    assert not marker.exists() and not (tmp_path / "o").exists()


def test_defend_refuses_a_pickle_bearing_pt(small_lenets, pickle_file, tmp_path, capsys):
    path, marker = pickle_file
    code = main(["defend", str(small_lenets[0]), "--fooling", str(path), "--out",
                 str(tmp_path / "o"), "--in-distribution", "none"])
    assert "weights_only" not in one_line_error(capsys, code) and not marker.exists()


@pytest.mark.parametrize("count", ["-1", "0"])
def test_ood_fit_images_must_be_positive(small_lenets, tmp_path, capsys, count):
    code = main(["ood", str(small_lenets[0]), "--fooling", "uniform-noise", "--out",
                 str(tmp_path / "o"), "--fit-images", count])
    assert "(--fit-images) must be positive" in one_line_error(capsys, code)


HUGE_NOISE = "noise_average:sigma=0.1,samples=100000000000"


def test_a_defence_too_large_for_memory_is_refused_before_a_run_directory(
        small_lenets, tmp_path, capsys):
    run_dir = tmp_path / "run"
    code = main(["run", str(CONFIGS / "mnist_cppn.yaml"), "--out", str(run_dir), "--quiet",
                 "--set", f"model={small_lenets[0]}", "--set", "generations=2",
                 "--set", f"evaluator.defenses=[\"{HUGE_NOISE}\"]"])
    assert "more than the" in one_line_error(capsys, code) and not run_dir.exists()
    labelled = tmp_path / "fooling.pt"
    torch.save({"images": torch.zeros(2, 1, 28, 28, dtype=torch.uint8),
                "labels": torch.tensor([3, 5])}, labelled)
    code = main(["defend", str(small_lenets[0]), "--fooling", str(labelled), "--out",
                 str(tmp_path / "o"), "--in-distribution", "none", "--defenses", HUGE_NOISE])
    assert "more than the" in one_line_error(capsys, code) and not (tmp_path / "o").exists()


@pytest.mark.parametrize("content, overrides, message", [
    ("name: t\ngenerations: 2\n", ["seed=99999999999999999999999"], "seed must be at most"),
    (b"name: caf\xe9\ngenerations: 2\n", [], "is not UTF-8 text (byte 9 is 0xe9)"),
    ("name: t\ngenerations: 2\nx: " + "[" * 5000 + "]" * 5000 + "\n", [],
     "nests deeper than 50 levels"),
    ("name: t\ngenerations: 2\n", ["seed=" + "[" * 5000 + "]" * 5000], "--set seed"),
])
def test_crafted_configs_are_one_line(tmp_path, capsys, content, overrides, message):
    config = tmp_path / "c.yaml"
    if isinstance(content, bytes):
        config.write_bytes(content)
    else:
        config.write_text(content)
    code = main(["run", str(config), "--out", str(tmp_path / "run"),
                 *[item for override in overrides for item in ("--set", override)]])
    assert message in one_line_error(capsys, code)
    assert not (tmp_path / "run").exists()
