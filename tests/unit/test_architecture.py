"""The plan of the code, checked: dependencies point one way (edges -> features -> core).

Every module of ``kit`` belongs to one layer, by its top-level package:

=========== ==================================================================================
foundation  kit.errors, kit.resources, kit.state, kit.quiet (no kit imports but each other)
core        kit.core: specs, schemas, rule sets, evidence, statuses, assessment, private table,
            populations, cleared types and the clearance gate
features    kit.estimate, kit.protect, kit.dp, kit.registers, kit.external, kit.engine,
            kit.evidence_duckdb, kit.evidence_lazy
edges       kit.session (the facade), kit.release (the writer, review), kit.cli, kit.demo,
            kit.workbench, the root package kit and kit.__main__
=========== ==================================================================================

A module may import its own layer or a lower one, never a higher one, and the top-level packages
must not import each other in a circle. Imports inside functions (lazy imports) and under
``TYPE_CHECKING`` count like any other: a lazy import hides a dependency from the reader, not from
the plan. The one exception is ``from kit import __version__`` (the root package is initialised
before any of its modules). See docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kit

ROOT = Path(kit.__file__).resolve().parent

LAYERS: dict[str, tuple[str, ...]] = {
    "foundation": ("kit.errors", "kit.resources", "kit.state", "kit.quiet", "kit.progress", "kit.reprs"),
    "core": ("kit.core",),
    "features": ("kit.estimate", "kit.protect", "kit.dp", "kit.registers", "kit.external", "kit.engine",
                 "kit.evidence_duckdb", "kit.evidence_lazy"),
    "edges": ("kit.session", "kit.release", "kit.cli", "kit.demo", "kit.workbench", "kit", "kit.__main__"),
}
RANK = {name: i for i, name in enumerate(LAYERS)}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def unit_of(module: str) -> str:
    """The top-level package (or module) a kit module belongs to: kit.core.rules.model -> kit.core."""
    return ".".join(module.split(".")[:2])


def layer_of(module: str) -> str | None:
    unit = unit_of(module)
    for layer, units in LAYERS.items():
        if unit in units:
            return layer
    return None


def kit_imports(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported kit module, line) for every import in the file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - (0 if is_package else 1)]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = {alias.name for alias in node.names}
            if target == "kit" and names <= {"__version__"}:
                continue  # the root package's version string (initialised first)
            out.append((target, node.lineno))
            out += [(f"{target}.{n}", node.lineno) for n in names if f"{target}.{n}" in MODULES]
    return [(t, line) for t, line in out if t == "kit" or t.startswith("kit.")]


EDGES = [(m, t, line) for m, p in MODULES.items() for t, line in kit_imports(m, p)]


def test_every_module_has_a_layer() -> None:
    loose = sorted(m for m in MODULES if layer_of(m) is None)
    assert not loose, f"modules in no layer (add their package to LAYERS and docs/architecture.md): {loose}"


def test_no_import_points_upward() -> None:
    upward = []
    for module, target, line in EDGES:
        src, dst = layer_of(module), layer_of(target)
        if src is not None and dst is not None and RANK[dst] > RANK[src]:
            upward.append(f"{MODULES[module].relative_to(ROOT.parent)}:{line}: {src} {module} imports {dst} {target}")
    assert not upward, "imports that point upward:\n" + "\n".join(upward)


def test_no_circle_among_packages() -> None:
    graph: dict[str, set[str]] = {}
    for module, target, _line in EDGES:
        a, b = unit_of(module), unit_of(target)
        if a != b and b != "kit":  # the root re-exports the public API; nothing imports it but __version__
            graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not circles, "packages that import each other in a circle: " + "; ".join(" -> ".join(c) for c in circles)


def test_foundation_imports_only_foundation() -> None:
    bad = [(m, t) for m, t, _ in EDGES if layer_of(m) == "foundation" and layer_of(t) != "foundation"]
    assert not bad


@pytest.mark.parametrize("bad", ["kit.session", "kit.release.writer", "kit.cli"])
def test_the_check_sees_an_upward_import(bad: str, tmp_path: Path) -> None:
    """The checker itself can fail: a core module importing an edge is caught, lazy or not."""
    src = tmp_path / "probe.py"
    src.write_text(f"def f():\n    from {bad} import x\n", encoding="utf-8")
    found = kit_imports("kit.core.probe", src)
    assert [t for t, _ in found] == [bad]
    assert RANK[layer_of(found[0][0]) or ""] > RANK["core"]
