"""The package's import structure: no module imports itself back through others, and
reading runs (browse, export, transfer) never pulls in what builds them."""

import ast
import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "evofool"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_imports(*, module_level_only: bool = False) -> dict[str, set[str]]:
    """Each module's evofool imports: every import statement, those inside functions and
    under ``if TYPE_CHECKING:`` included (an import moved into a function to dodge a
    circle is still one), or with ``module_level_only`` those at module level."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        statements = ast.walk(tree) if not module_level_only else [
            statement for node in tree.body
            for statement in (node.body if isinstance(node, ast.If) else [node])]
        imported = set()
        for statement in statements:
            if isinstance(statement, ast.ImportFrom) and statement.module:
                targets = [statement.module] + [f"{statement.module}.{alias.name}"
                                                for alias in statement.names]
            elif isinstance(statement, ast.Import):
                targets = [alias.name for alias in statement.names]
            else:
                continue
            imported |= {target for target in targets if target in modules}
        graph[name] = imported - {name}
    return graph


# The packages from the bottom up, as data flows (docs/development.md, "How the parts fit"): shared
# basics; files; what genomes, models and data are; what a run stores and keeps; what
# scores images and gates them; evaluations turn genomes into scores; algorithms search
# through them; a run composes it all; then what reads runs, n+1 experiments, the browser
# and the command line. A package imports only packages listed before it.
LAYERS = ("errors", "randomness", "vision_libs", "settings", "files", "encodings", "models",
          "data", "store", "archive", "defenses", "engines", "ood", "training", "evaluation",
          "algorithms", "run", "analysis", "n_plus_one", "browse", "api", "cli")
TOP = ("__init__", "__main__")  # the package's door: version, and ``python -m evofool``


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def package_imports() -> list[tuple[str, str, str, str]]:
    """(importing package, imported package, module, target) for every import that
    crosses from one package (or top-level module) of evofool to another."""
    return [(package_of(name), package_of(target), name, target)
            for name, targets in module_imports().items() for target in sorted(targets)
            if package_of(name) != package_of(target)]


def cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    stack = [(start, [start])]
    seen = set()
    while stack:
        node, path = stack.pop()
        for target in graph[node]:
            if target == start:
                return path + [start]
            if target not in seen and not target.startswith(start + "."):
                seen.add(target)
                stack.append((target, path + [target]))
    return None


def test_no_import_circles():
    graph = module_imports()
    # a package's __init__ re-exports its modules, which import siblings through it
    cycles = [cycle for name in graph if (cycle := cycle_from(name, graph))
              and not any(cycle[0].startswith(other + ".") or other.startswith(cycle[0] + ".")
                          for other in cycle[1:-1])]
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_reading_a_run_does_not_import_the_builders():
    """A run's config names its algorithm, whose settings class lives beside it, so the
    algorithm modules load; the builder, the job, training and Ray do not."""
    builders = ("evofool.run.builder", "evofool.run.job", "evofool.run.recorder")
    code = ("import sys, evofool.run.stored, evofool.analysis.export, evofool.analysis.transfer; "
            f"print(sorted(m for m in sys.modules if m in {builders!r} or m.startswith(("
            "'evofool.training', 'evofool.evaluation.ray'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_algorithms_know_only_the_evaluation_contract():
    """A search hands genomes to an evaluator (evaluation.unit) and never reaches past it
    to scorers, Ray or detectors: that is what lets the same algorithm run in-process or
    on actors. (A settings check may read the engine registry, as ascent's does.)"""
    graph = module_imports()
    behind = ("evofool.evaluation.local", "evofool.evaluation.ray", "evofool.evaluation.scorer",
              "evofool.engines.selection", "evofool.ood")
    reached = {(name, target) for name, targets in graph.items()
               if name.startswith("evofool.algorithms") for target in targets
               if target.startswith(behind)}
    assert not reached


def test_every_package_has_a_layer():
    found = {path.stem if path.is_file() else path.name for path in PACKAGE.iterdir()
             if (path.suffix == ".py" or (path / "__init__.py").exists())}
    assert found == set(LAYERS) | set(TOP)


def test_packages_import_only_the_layers_below_them():
    """Counting imports inside functions too: no import points up the layers, so no two
    packages import each other, however indirectly."""
    rank = {name: index for index, name in enumerate(LAYERS)} | {"__init__": -1}
    upward = [f"{module} -> {target}" for importer, imported, module, target in package_imports()
              if importer not in TOP and rank[imported] > rank[importer]]
    assert not upward, "\n".join(upward)


def test_packages_form_no_cycle():
    """Independent of LAYERS' order: the package graph has no cycle (a cycle would make
    some order's test above fail, but this names the packages)."""
    graph: dict[str, set[str]] = {}
    for importer, imported, _, _ in package_imports():
        graph.setdefault(importer, set()).add(imported)
    cycles = [cycle for name in graph if (cycle := cycle_from(name, {
        node: graph.get(node, set()) for node in set(graph) | {t for v in graph.values()
                                                               for t in v}}))]
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_the_top_of_the_package_stays_small():
    """Modules live in folders named for what they hold (run/, evaluation/, analysis/, ...);
    the top keeps at most four shared basics beside ``__init__`` and ``__main__``."""
    top = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem not in TOP)
    assert len(top) <= 4, top


def test_no_module_is_long():
    """Small modules with one job each: none over 250 lines."""
    long = {str(path.relative_to(PACKAGE)): lines for path in PACKAGE.rglob("*.py")
            if (lines := len(path.read_text().splitlines())) > 250}
    assert not long, long


DEVELOPMENT = Path(__file__).parents[1] / "docs" / "development.md"


def _structure_section() -> str:
    text = DEVELOPMENT.read_text()
    start = text.index("## How the parts fit")
    return text[start:text.index("\n## ", start + 1) if "\n## " in text[start + 1:]
                else len(text)]


def test_the_package_table_is_the_layers_from_the_top():
    """The development guide's package table lists every package and top-level module, in
    LAYERS' order from the top down: it cannot drift from the code."""
    rows = re.findall(r"^\| `([\w.]+?)/?` \|", _structure_section(), flags=re.M)
    assert [row.removesuffix(".py") for row in rows] == list(reversed(LAYERS))


def test_the_structure_diagram_names_only_files_that_exist():
    """Every module path the diagram names (``run/job.py``, ``store/``) is in the package."""
    diagram = _structure_section().split("```")[1]
    paths = set(re.findall(r"\b[a-z_]+/(?:[a-z_]+\.py)?", diagram))
    assert paths, "the diagram names no paths"
    assert sorted(path for path in paths if not (PACKAGE / path).exists()) == []
