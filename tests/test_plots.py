"""`evofool plot`: a run's figures as PNG files."""

import json

from PIL import Image


def test_plot_writes_montage_curves_and_bars(tiny_cppn_run, tmp_path, cli):
    result = cli("plot", str(tiny_cppn_run), "--out", str(tmp_path / "p"))
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout.splitlines()[-1])["files"]
    assert files == ["classes.png", "confidence.png", "montage.png"]
    for name in files:
        width, height = Image.open(tmp_path / "p" / name).size
        assert width > 300 and height > 100
    assert not list((tmp_path / "p").glob("*.partial"))


def test_plot_of_a_retrain_experiment_writes_rounds(tiny_retrain, tmp_path, cli):
    result = cli("plot", str(tiny_retrain[0]), "--out", str(tmp_path / "p"))
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "p" / "rounds.png").size[0] > 300


def test_plot_of_a_non_run_is_one_line(tmp_path, cli):
    result = cli("plot", str(tmp_path))
    assert result.returncode == 2 and "is not an evofool run" in result.stderr
    assert not (tmp_path / "plots").exists()
