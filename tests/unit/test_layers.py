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
    "api": 7, "cli": 7, "cli_common": 7, "cli_eval": 7, "cli_ops": 7, "container": 7, "migrations": 7,
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
