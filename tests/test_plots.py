"""`evofool plot`: a run's figures as PNG files."""

import json

import pytest
from PIL import Image

from evofool.analysis.plots import class_bars, confidence_curves, montage_caption
from evofool.archive.confidence import format_confidence


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


def test_confidences_keep_their_nines():
    assert format_confidence(0.99995) == "0.999950"
    assert format_confidence(0.999999) == "0.9999990"
    assert format_confidence(1.0) == "1 (saturated)"
    assert format_confidence(0.5) == "0.5000"


def test_confidence_axes_show_the_tail():
    figure = confidence_curves({"generation": [1, 2], "best": [0.999, 1.0],
                                "median": [0.99, 0.9999], "min": [0.0, 0.5],
                                "classes_at_0.99": [1, 2]}, num_classes=5)
    left, right = figure.axes
    assert left.get_yscale() == "logit"
    low, high = left.get_ylim()
    assert low < 0.5 and high > 0.99999  # 0.99 and 0.9999 are far apart, not one pixel
    assert right.get_ylim()[1] == pytest.approx(5 * 1.03)  # the classes the run evolves for


def test_long_class_names_wrap_under_montage_images():
    caption = montage_caption("American Staffordshire terrier, Staffordshire bullterrier", 0.999)
    lines = caption.splitlines()
    assert len(lines) == 3 and all(len(line) <= 16 for line in lines[:2])
    assert lines[-1] == "0.9990"
    bars = class_bars(["a very long ImageNet class name indeed"] * 12, [0.5] * 12)
    assert all(label.get_rotation() == 90 for label in bars.axes[0].get_xticklabels())


def test_a_saturated_curve_stays_inside_the_frame_and_bars_say_their_colours():
    figure = confidence_curves({"generation": [0, 1], "best": [0.9, 1.0], "median": [0.5, 0.9],
                                "min": [0.1, 0.2], "classes_at_0.99": [0, 1]}, 10)
    axis = figure.axes[0]
    best = axis.get_lines()[0].get_ydata()[-1]
    assert best < axis.get_ylim()[1]  # drawn below the top edge, on a labelled line
    assert "1 (saturated)" in [label.get_text() for label in axis.get_yticklabels()]
    bars = class_bars(["a", "b"], [0.999, 0.5]).axes[0]
    assert bars.get_xlabel() == "class"
    assert [text.get_text() for text in bars.get_legend().get_texts()] == [">= 0.99", "< 0.99"]


def test_transfer_heatmap_names_long_paths_by_file_and_keeps_the_nines():
    from evofool.analysis.plots import transfer_heatmap
    from evofool.analysis.transfer_matrix import TransferMatrix

    matrix = TransferMatrix(models=["/a/very/long/path/to/lenet.pt", "mnist-lenet"],
                            classes=[0], class_names=["0"], confidence=[[0.9999], [0.99]],
                            top1=[[True], [True]])
    axis = transfer_heatmap(matrix).axes[0]
    assert [label.get_text().splitlines()[0] for label in axis.get_yticklabels()] == [
        "lenet.pt", "mnist-lenet"]
    assert {text.get_text() for text in axis.texts} == {"0.999900", "0.9900"}
