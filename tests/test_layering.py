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
    algorithm modules load; the factory, the job, training and Ray do not."""
    code = ("import sys, evofool.stored_run, evofool.export, evofool.transfer; "
            "print(sorted(m for m in sys.modules if m in ('evofool.components', 'evofool.job', "
            "'evofool.run_recorder') or m.startswith(('evofool.training', "
            "'evofool.evaluation.ray'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
