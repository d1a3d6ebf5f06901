"""The package's import graph, read from the source with :mod:`ast`.

Only imports that run when a module is loaded count: module level and class
bodies, not function bodies (a function-level import runs later, on call,
and cannot form a loop at import time) and not ``if TYPE_CHECKING:`` blocks.
Function-level imports are listed separately: the layer rules see them too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "okpay_gateway"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    at_load: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for path in sorted(ROOT.rglob("*.py"))
        if "migrations" not in path.parts
    }


def _resolve(source: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = source.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, known: set[str]) -> list[Import]:
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, at_load: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, False)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append(Import(name, alias.name, child.lineno, at_load))
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(name, is_package, child)
                for alias in child.names:
                    # "from pkg import module" imports the module itself.
                    candidate = f"{base}.{alias.name}"
                    target = candidate if candidate in known else base
                    found.append(Import(name, target, child.lineno, at_load))
            visit(child, at_load)

    visit(tree, True)
    return found


def import_graph() -> list[Import]:
    found = modules()
    known = set(found)
    return [
        imp for name, path in found.items() for imp in imports_of(name, path, known)
    ]


def cycles(edges: list[Import]) -> list[list[str]]:
    """Strongly connected groups of more than one module (load-time imports)."""
    graph: dict[str, set[str]] = {}
    for imp in edges:
        if imp.at_load and imp.target.startswith(PACKAGE) and imp.target != imp.source:
            # Importing pkg.sub also runs pkg/__init__, but pkg/__init__ importing
            # its own submodules is how packages re-export: not a loop.
            if imp.source.startswith(imp.target + "."):
                continue
            graph.setdefault(imp.source, set()).add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return groups
