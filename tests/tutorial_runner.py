"""Run one tutorial as a notebook, as Jupyter would: ``python tutorial_runner.py TUTORIAL
PARAMETERS_JSON OUT.ipynb``. jupytext reads the percent script, its cell tagged
``parameters`` takes the given values (as papermill does), nbclient runs every cell in a
kernel started in OUT's folder, and the executed notebook is written to OUT."""

import json
import sys
from pathlib import Path

import jupytext
import nbclient
import nbformat


def main(tutorial: str, parameters: str, out: str) -> None:
    notebook = jupytext.read(tutorial)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    if len(tagged) != 1:
        sys.exit(f"{tutorial}: its budget must live in one cell tagged parameters")
    tagged[0].source = "\n".join(f"{key} = {value!r}"
                                 for key, value in json.loads(parameters).items())
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(Path(out).parent)}})
    try:
        client.execute()
    finally:
        nbformat.write(notebook, out)


if __name__ == "__main__":
    main(*sys.argv[1:])
