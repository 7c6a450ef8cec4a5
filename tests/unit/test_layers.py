"""The layers of ../shared/STYLE.md, checked on every import of src/deskpilot: imports point down, and ingestion and
retrieval do not import each other (what both need is in `index/`, one layer down). No exception is listed."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

LAYERS = {  # package or module -> layer; a module may import only from its own package or lower layers
    "config": 0, "errors": 0, "db": 0, "lru": 0, "domain": 0, "keys": 0,
    "text": 1,
    "providers": 2,
    "index": 3,
    "ingest": 4, "retrieval": 4,
    "assist": 5,
    "helpdesk": 6, "ops": 6, "integrations": 6, "evaluation": 6,
    "api": 7, "cli": 7, "container": 7, "migrations": 7,
}
APART = {("ingest", "retrieval"), ("retrieval", "ingest")}  # same layer, but neither imports the other



def _part(module: str) -> str:
    return module.split(".")[1]


def crossings() -> set[tuple[str, str]]:
    found = set()
    root = REPO / "src" / "deskpilot"
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if module == "deskpilot":
            continue
        mine = _part(module)
        for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("deskpilot.")):
                continue
            other = _part(node.module)
            if other == mine:
                continue
            assert mine in LAYERS and other in LAYERS, f"{module} or {node.module}: which layer? (add it to LAYERS)"
            if LAYERS[other] > LAYERS[mine] or (mine, other) in APART:
                found.add((module, node.module))
    return found


def test_imports_point_down() -> None:
    found = crossings()
    assert not found, f"imports against the layers: {sorted(found)}"


def test_no_private_name_is_imported_from_another_module() -> None:
    root = REPO / "src" / "deskpilot"
    found = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("deskpilot"):
                found += [f"{path.relative_to(root)}: {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert not found, found


def _import_graph() -> dict[str, set[str]]:
    """Module -> the Deskpilot modules it imports (anywhere in it: an import inside a function is still a
    dependency); `from package import module` points at the module."""
    root = REPO / "src" / "deskpilot"
    modules = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        edges = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("deskpilot"):
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    edges.add(target if target in modules else node.module)
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in modules)
        edges.discard(module)
    return graph


def test_no_import_circles() -> None:
    graph = _import_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for other in sorted(graph.get(module, ())):
            if state.get(other) == 1:
                circles.append([*path[path.index(other):], other] if other in path else [module, other])
            elif other in graph and other not in state:
                visit(other, [*path, other])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, circles
