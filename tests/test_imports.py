"""The import graph of `dashboard/`: no circle, and no arrow from a lower layer up to a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dashboard"
# From the bottom up: a module may import its own layer or any layer below it, never one above.
LAYERS = (
    ("dashboard.resources",),
    ("dashboard.core",),
    ("dashboard.demo",),
    ("dashboard.data", "dashboard.cli"),
    ("dashboard.ui",),
    ("dashboard.app_pages",),
    ("dashboard.app",),
)
# Third-party packages that belong to the edge: core stays usable from the CLI, a benchmark or Spark.
EDGE_ONLY = {"streamlit", "plotly"}


def layer_of(module: str) -> int:
    """The layer index of a `dashboard` module (the package's empty `__init__` sits at the bottom)."""
    if module == "dashboard":
        return 0
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Each module of the package → the modules it imports anywhere in its text (lazy imports count too)."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_pkg = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_pkg else 0)]
                    base = ".".join(anchor + ([base] if base else []))
                targets.add(base)
                # `from dashboard.core import demo` imports the submodule, not only the package.
                targets.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in files)
        graph[name] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    internal = {m: {t for t in ts if t in graph and t != m} for m, ts in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(internal[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(internal):
        if v not in index:
            visit(v)
    return found


def upward_arrows(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a module to a higher layer, and edge-only packages imported below the edge."""
    bad = []
    for src, targets in sorted(graph.items()):
        for t in sorted(targets):
            if t == "dashboard" or t.startswith("dashboard."):
                if t in graph and layer_of(t) > layer_of(src):
                    bad.append(f"{src} -> {t}")
            elif t.split(".")[0] in EDGE_ONLY and layer_of(src) < layer_of("dashboard.data"):
                bad.append(f"{src} -> {t}")
    return bad


def test_the_package_has_no_circle():
    assert circles(import_graph()) == []


def test_no_arrow_runs_back_up():
    assert upward_arrows(import_graph()) == []


def test_the_graph_sees_relative_and_submodule_imports(tmp_path):
    """The checker itself: a hand-made package with a circle through a relative import and an arrow up."""
    pkg = tmp_path / "dashboard"
    (pkg / "core").mkdir(parents=True)
    (pkg / "ui").mkdir()
    for f in ("__init__.py", "core/__init__.py", "ui/__init__.py"):
        (pkg / f).write_text("")
    (pkg / "core" / "a.py").write_text("from . import b\n")
    (pkg / "core" / "b.py").write_text("def f():\n    from dashboard.core.a import x\n")
    (pkg / "core" / "c.py").write_text("from dashboard.ui import i18n\nimport streamlit as st\n")
    (pkg / "ui" / "i18n.py").write_text("")
    graph = import_graph(pkg)
    assert circles(graph) == [["dashboard.core.a", "dashboard.core.b"]]
    assert upward_arrows(graph) == ["dashboard.core.c -> dashboard.ui", "dashboard.core.c -> dashboard.ui.i18n",
                                    "dashboard.core.c -> streamlit"]


@pytest.mark.parametrize("module", ["dashboard.core.bulletin", "dashboard.core.report", "dashboard.core.scoring",
                                    "dashboard.core.ingest", "dashboard.core.db"])
def test_core_modules_load_without_the_ui(module):
    """Loaded in a fresh interpreter, a core module brings in neither `dashboard.ui` nor streamlit."""
    import subprocess
    import sys

    code = (f"import sys, {module}; bad = sorted(m for m in sys.modules if m.startswith(('dashboard.ui', "
            "'dashboard.app_pages', 'streamlit'))); print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
