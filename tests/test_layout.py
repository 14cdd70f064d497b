"""The house rules that code can check: no import cycle (lazy imports included), lower rooms never import
the painters or the faces, and every painter package has the same four roles."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "stx_tf"
PAINTERS = ("cyclegan", "cut", "dcgan", "fast_style")
FACES = ("cli", "app")
LOWER_ROOMS = ("data", "metrics", "submission", "training", "nn", "losses", "precision", "strategy", "settings",
               "atomic", "configs", "viz", "backbones", "backend")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, known) -> set[str]:
    """Every stx_tf module ``path`` imports, at module level or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stx_tf"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("stx_tf"))
    return {m for m in out if m in known}


def test_no_import_cycle():
    modules = _modules()
    graph = {name: _imports(path, modules) for name, path in modules.items()}
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])


def test_lower_rooms_do_not_import_painters_or_faces():
    modules = _modules()
    higher = tuple(f"stx_tf.{room}" for room in PAINTERS + FACES + ("nst", "arbitrary"))
    for name, path in modules.items():
        room = name.split(".")[1] if "." in name else ""
        if room in LOWER_ROOMS:
            bad = sorted(m for m in _imports(path, modules) if m.startswith(higher))
            assert not bad, f"{name} (a lower room) imports {bad}"


def test_painters_have_the_four_roles():
    for painter in PAINTERS:
        folder = PACKAGE / painter
        if folder.is_dir():
            assert {"config.py", "nets.py", "model.py", "train.py"} <= {p.name for p in folder.iterdir()}, painter
