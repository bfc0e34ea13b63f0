"""The embedded engine is imported only when it is used: no module outside its package imports
it (or mongomock) at load time, and those that start it do so inside the functions that run
only with the embedded engine (never with MONGODB_URI). tests/test_production_start.py checks
the same of an installed production image at run time."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[3] / "app"
ENGINE = APP / "storage" / "embedded"
DEV_ONLY = ("app.storage.embedded", "mongomock", "mongomock_motor")
# Where the engine is started or set up, and the functions that do it (embedded engine only).
STARTED_IN = {
    "storage/database.py": {"connect"},
    "http/app.py": {"lifespan", "_simulate_latency"},
}


def _imports(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, node))
    return found


def _enclosing_functions(tree: ast.AST) -> dict[ast.AST, str]:
    inside = {}
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                inside[node] = function.name  # ast.walk is breadth first: the innermost last
    return inside


def test_no_module_outside_the_engine_imports_it_at_load_time():
    wrong = []
    for path in sorted(APP.rglob("*.py")):
        if ENGINE in path.parents:
            continue
        tree = ast.parse(path.read_text())
        inside = _enclosing_functions(tree)
        for module, node in _imports(tree):
            if not module.startswith(DEV_ONLY):
                continue
            where = str(path.relative_to(APP))
            if inside.get(node) not in STARTED_IN.get(where, set()):
                wrong.append(f"{where}:{node.lineno} imports {module}")
    assert wrong == []
