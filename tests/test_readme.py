"""The Python blocks of README and of the documentation pages, run as written as a reader
would paste them, each in a process of its own (forked from one that has imported torch and
evofool: preloaded.py); every ``evofool`` command their shell blocks show,
parsed by the command line's own parser (their runs take minutes to hours: the quick start's
run in full elsewhere, tests/test_run_cli.py)."""

import re
import shlex
import shutil
import textwrap
from pathlib import Path

import pytest
from preloaded import run_python

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

# what each page's blocks print, in order; a page with Python blocks must be listed
EXPECTED = {
    "README.md": ["[('0', "],
    "docs/guide/export.md": ["fooling images of shape (1, 28, 28), target -1"],
    "docs/guide/search.md": ["gradient steps: 16"],
    "docs/python.md": ["4 champions; best True", "accuracy", "images in 10 classes"],
}


def python_blocks(page: Path) -> list[str]:
    """The page's Python blocks; one inside a list item loses its indent, as when pasted."""
    return [textwrap.dedent(block) for block in
            re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)]


BLOCKS = [(str(page.relative_to(ROOT)), index, block) for page in PAGES
          for index, block in enumerate(python_blocks(page))]


@pytest.fixture
def reader_home(tmp_path, trained_lenet, mnist, tiny_cppn_run, cli):
    """A working directory with the guide's datasets/fooling-mnist export, and a cache
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


def shell_commands(page: Path) -> list[str]:
    """The ``evofool ...`` commands of the page's bash blocks, continuation lines joined,
    comments and what follows ``&&`` or a pipe cut; a synopsis (``[--out DIR]``) is not one."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", page.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if "evofool " in line and "[--" not in line:
                line = re.split(r" #|&&|\|", line)[0].strip()
                # a command substitution stands for one argument
                commands.append(re.sub(r"\"?\$\(.*", "IMAGE", line[line.index("evofool "):]))
    return commands


COMMANDS = [(str(page.relative_to(ROOT)), command) for page in PAGES
            for command in shell_commands(page)]


@pytest.mark.parametrize("page, command", COMMANDS)
def test_shell_commands_of_the_pages_parse(page, command):
    from evofool.cli.main import build_parser

    try:
        build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit as exit_:
        pytest.fail(f"{page}: {command!r} does not parse (exit {exit_.code})")


def test_every_page_with_python_blocks_says_what_they_print():
    found = {}
    for page, _, _ in BLOCKS:
        found[page] = found.get(page, 0) + 1
    assert found == {page: len(prints) for page, prints in EXPECTED.items()}


@pytest.mark.parametrize("page, index, block", BLOCKS, ids=[f"{p}-{i}" for p, i, _ in BLOCKS])
def test_python_block_runs_as_written(reader_home, page, index, block):
    home, cache = reader_home
    result = run_python(["-c", block], home,
                        {"EVOFOOL_CACHE": str(cache), "PATH": "/usr/bin:/bin",
                         "MPLBACKEND": "Agg"}, home / "block-output", timeout=300)
    assert result.returncode == 0, result.stderr
    assert EXPECTED[page][index] in result.stdout
