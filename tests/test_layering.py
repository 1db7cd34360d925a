"""The package's import structure: no module imports itself back through others, and
reading runs (browse, export, transfer) never pulls in what builds them."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "evofool"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_imports() -> dict[str, set[str]]:
    """Each module's evofool imports at module level, type-only ones included (a
    circle through them still couples the two modules)."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.parse(path.read_text()).body:
            nodes = [node]
            if isinstance(node, ast.If):  # if TYPE_CHECKING:
                nodes = node.body
            for statement in nodes:
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
    """A search hands genomes to an evaluation (evaluation.unit) and never reaches past it
    to scorers, Ray or detectors: that is what lets the same algorithm run in-process or
    on actors. (A settings check may read the engine registry, as ascent's does.)"""
    graph = module_imports()
    behind = ("evofool.evaluation.local", "evofool.evaluation.ray", "evofool.evaluation.scorer",
              "evofool.engines.selection", "evofool.ood")
    reached = {(name, target) for name, targets in graph.items()
               if name.startswith("evofool.algorithms") for target in targets
               if target.startswith(behind)}
    assert not reached


def test_the_top_of_the_package_stays_small():
    """Modules live in folders named for what they hold (run/, evaluation/, analysis/, ...);
    the top keeps only the shared basics."""
    top = sorted(path.stem for path in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top
