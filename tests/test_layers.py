"""The import layers of docs/architecture.md ("Seams and layers") hold: every import in
deid/ (module level and inside functions; not those under `if TYPE_CHECKING:`, which
never run) goes to the importer's own layer or below, no two top-level packages import
each other, and no module takes a private name (_x) from another top-level package.

A module belongs to the longest unit named in the layers block that contains it:
deid/dicom/handler.py is `dicom.handler`, deid/dicom/raw.py is `dicom`, deid/core.py is
`core`, deid/__init__.py is `deid`. Known exceptions are listed in KNOWN_VIOLATIONS, each
with what removes it; delete an entry when its fix lands (the test says when one is stale).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from helpers import REPO

PKG = REPO / "deid"
DOC = REPO / "docs" / "architecture.md"

# Imports that break the layers today, as (importer unit, imported unit), or for private
# names ("private", importing module, "module.name"). None are left.
KNOWN_VIOLATIONS: set[tuple[str, ...]] = set()


def layers() -> list[list[str]]:
    """The ```layers block of architecture.md: one layer a line, the bottom first."""
    m = re.search(r"^```layers\n(.*?)^```", DOC.read_text("utf-8"), re.M | re.S)
    assert m, f"{DOC.name} has no ```layers block (section 'Seams and layers')"
    return [line.split() for line in m.group(1).splitlines() if line.strip()]


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _type_checking_only(tree: ast.AST) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                skip.update(id(n) for n in ast.walk(stmt))
    return skip


def imports(modules: dict[str, Path]) -> list[tuple[str, str, str, int]]:
    """(importing module, imported module, name taken or '', line) for every deid import."""
    out = []
    for mod, path in modules.items():
        tree = ast.parse(path.read_text("utf-8"), str(path))
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        skip = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                out += [(mod, a.name, "", node.lineno) for a in node.names if a.name.split(".")[0] == "deid"]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                elif node.module and node.module.split(".")[0] == "deid":
                    target = node.module
                else:
                    continue
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    if sub in modules:  # `from . import lexicon`: a module
                        out.append((mod, sub, "", node.lineno))
                    else:  # `from .engine import Pipeline`: a name in a module
                        out.append((mod, target, a.name, node.lineno))
    return out


def unit_of(module: str, units: set[str]) -> str:
    parts = module.split(".")[1:]
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in units:
            return ".".join(parts[:n])
    return "deid" if not parts else parts[0]


def _graph():
    table = layers()
    rank = {u: i for i, line in enumerate(table) for u in line}
    modules = _modules()
    edges: dict[tuple[str, str], list[str]] = {}
    private = []
    for mod, target, name, line in imports(modules):
        a, b = unit_of(mod, set(rank)), unit_of(target, set(rank))
        where = f"{mod.replace('.', '/')}.py:{line} imports {target}{'.' + name if name else ''}"
        if name.startswith("_") and not name.startswith("__") and a.split(".")[0] != b.split(".")[0]:
            private.append((("private", mod, f"{target}.{name}"), where))
        if a != b:
            edges.setdefault((a, b), []).append(where)
    return rank, modules, edges, private


def test_every_module_is_in_a_layer():
    rank, modules, _edges, _private = _graph()
    missing = sorted({unit_of(m, set(rank)) for m in modules} - set(rank))
    assert not missing, f"add these to the ```layers block of docs/architecture.md: {missing}"


def test_imports_go_down_the_layers():
    rank, _modules_, edges, _private = _graph()
    up = [
        f"{a} (layer {rank[a]}) -> {b} (layer {rank[b]}): {w[0]}"
        for (a, b), w in sorted(edges.items())
        if a in rank and b in rank and rank[a] < rank[b] and (a, b) not in KNOWN_VIOLATIONS
    ]
    assert not up, "imports that go up a layer (docs/architecture.md, 'Seams and layers'):\n" + "\n".join(up)


def test_no_import_cycles_between_packages():
    """With the known exceptions left out, the graph of top-level units is acyclic."""
    _rank, _m, edges, _private = _graph()
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        if (a, b) not in KNOWN_VIOLATIONS:
            graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                return stack[stack.index(v) :] + [v]
            if v not in state:
                cycle = visit(v)
                if cycle:
                    return cycle
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(graph):
        if u not in state:
            cycle = visit(u)
            assert not cycle, (
                "import cycle: "
                + " -> ".join(cycle)
                + "\n"
                + "\n".join(edges[(x, y)][0] for x, y in zip(cycle, cycle[1:]))
            )


def test_no_private_names_across_packages():
    *_, private = _graph()
    found = [w for key, w in private if key not in KNOWN_VIOLATIONS]
    assert not found, "private names taken from another package:\n" + "\n".join(found)


def test_known_violations_are_still_there():
    """An entry whose import is gone is deleted, so the list stays the list of what is left."""
    _rank, _m, edges, private = _graph()
    present = set(edges) | {key for key, _w in private}
    stale = sorted(KNOWN_VIOLATIONS - present)
    assert not stale, f"fixed: delete from KNOWN_VIOLATIONS: {stale}"
