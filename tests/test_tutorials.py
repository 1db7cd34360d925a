"""The tutorials under docs/tutorials run top to bottom as notebooks, on budgets the tests set
in each one's ``parameters`` cell (tests/background_runs.py runs them in the background from
the session's start, through tests/tutorial_runner.py: jupytext reads the percent script,
nbclient runs it in a Jupyter kernel)."""

from pathlib import Path

import nbformat
import pytest
from background_runs import TUTORIAL_BUDGETS, TUTORIALS


def test_every_tutorial_has_a_test_budget():
    assert sorted(path.name for path in TUTORIALS.glob("*.py")) == sorted(TUTORIAL_BUDGETS)


@pytest.mark.parametrize("name", sorted(TUTORIAL_BUDGETS))
def test_tutorial_runs_top_to_bottom(name, background_runs):
    result = background_runs[f"tutorials/{name}"].result()
    assert result.returncode == 0, result.stderr[-3000:]
    notebook = nbformat.read(Path(result.args[-1]), as_version=4)
    outputs = [output for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.output_type == "error"]
    figures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(figures) == TUTORIAL_BUDGETS[name][1], "every figure shows inline"
