"""The tutorials under docs/tutorials run top to bottom as notebooks (jupytext reads the
percent scripts, nbclient runs them in a Jupyter kernel), on budgets the tests set in each
one's ``parameters`` cell, as papermill would."""

from pathlib import Path

import pytest

TUTORIALS = Path(__file__).parents[1] / "docs" / "tutorials"
BUDGETS = {"fool_your_model.py": {"TRAIN_IMAGES": 3000, "GENERATIONS": 8}}


def test_every_tutorial_has_a_test_budget():
    assert sorted(path.name for path in TUTORIALS.glob("*.py")) == sorted(BUDGETS)


@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_tutorial_runs_top_to_bottom(name, tmp_path, mnist):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    notebook = jupytext.read(TUTORIALS / name)
    parameters = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(parameters) == 1, "a tutorial's budget lives in one cell tagged parameters"
    parameters[0].source = "\n".join(f"{key} = {value!r}" for key, value in BUDGETS[name].items())
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.output_type == "error"]
    figures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(figures) == 3, "the two montages and the curve show inline"
    text = "".join(output.get("text", "") for output in outputs)
    assert "test accuracy" in text and "through JPEG" in text
