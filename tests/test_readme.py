"""README's Python blocks, run as written in a fresh interpreter, as a reader would paste them."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.fixture
def reader_home(tmp_path, trained_lenet, mnist, tiny_cppn_run, cli):
    """A working directory with the README's datasets/fooling-mnist export, and a cache
    holding the MNIST arrays and the default LeNet (no download, no training)."""
    cache = tmp_path / "cache"
    (cache / "mnist").mkdir(parents=True)
    (cache / "models").mkdir()
    from evofool.files.cache import cache_dir
    shutil.copy(cache_dir() / "mnist" / "mnist.npz", cache / "mnist" / "mnist.npz")
    shutil.copy(trained_lenet["path"], cache / "models" / "mnist-lenet.pt")
    result = cli("export", str(tiny_cppn_run), "--format", "imagefolder", "--min-confidence",
                 "0", "--out", str(tmp_path / "datasets" / "fooling-mnist"))
    assert result.returncode == 0, result.stderr
    return tmp_path, cache


def test_readme_has_the_python_blocks():
    assert len(python_blocks()) == len(EXPECTED)


# what each block prints, in README order
EXPECTED = ["fooling images of shape (1, 28, 28), target -1", "accuracy", "images in 10 classes"]


@pytest.mark.parametrize("index", range(len(EXPECTED)))
def test_readme_python_block_runs_as_written(reader_home, index):
    home, cache = reader_home
    result = subprocess.run([sys.executable, "-c", python_blocks()[index]], cwd=home,
                            capture_output=True, text=True, timeout=300,
                            env={"EVOFOOL_CACHE": str(cache), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert EXPECTED[index] in result.stdout
