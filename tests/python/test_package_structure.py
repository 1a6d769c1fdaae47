"""The package's shape: modules import one way, public methods say what they return."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import steppe as sp

PACKAGE = Path(sp.__file__).resolve().parent


def import_graph() -> dict[str, set[str]]:
    """Module -> steppe modules it imports (anywhere in the file, function bodies too)."""
    modules = {}
    for f in PACKAGE.rglob("*.py"):
        parts = f.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts).removesuffix(".__init__")
        modules[name] = f
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, f in modules.items():
        package = name.split(".") if f.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(f.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                stem = ".".join(base + ([node.module] if node.module else []))
                targets = [stem] + [f"{stem}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            graph[name] |= {t for t in targets if t in modules and t not in (name, "steppe")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                return stack[stack.index(t) :] + [t]
            if t not in state and (found := visit(t)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert "steppe.design" in graph and "steppe._state" in graph
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_helpers_never_import_the_facade() -> None:
    graph = import_graph()
    helpers = [m for m in graph if m.startswith("steppe._") and m != "steppe._core"]
    assert helpers
    for m in helpers:
        assert "steppe.design" not in graph[m], f"{m} imports the Design facade"


def test_public_methods_have_real_return_types() -> None:
    for cls in (sp.Design, sp.ReplicateDesign, sp.Estimates):
        for name, member in inspect.getmembers(cls):
            if name.startswith("_") or not callable(member):
                continue
            # Annotations are strings (postponed evaluation); Axes is a TYPE_CHECKING name.
            returns = inspect.signature(member).return_annotation
            assert returns is not inspect.Signature.empty, f"{cls.__name__}.{name}: no return type"
            assert "Any" not in str(returns).split("[")[0], f"{cls.__name__}.{name} returns Any"


def test_public_docstrings_are_filled_and_have_one_section_each() -> None:
    import inspect

    import steppe as sp
    from steppe._docs import PARTS

    for cls in (sp.Design, sp.ReplicateDesign):
        for name, member in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_"):
                continue
            doc = inspect.getdoc(member) or ""
            assert not any("{" + part + "}" in doc for part in PARTS), f"{cls.__name__}.{name}"
            for section in ("Parameters", "Returns", "Examples"):
                assert doc.count(f"\n{section}\n---") <= 1, f"{cls.__name__}.{name}: {section}"
