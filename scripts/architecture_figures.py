"""Figures of the code's shape: lines per app, import cycles, imports hidden in functions.

Issue 14 asks for them before and after; run on any checkout:
``python scripts/architecture_figures.py [root]``. It reads the source with ``ast`` and imports
nothing, so it runs on an old revision as well as on this one.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGES = ("confops", "monitoring", "alerts", "reports")


def project_modules(root: Path) -> dict[str, Path]:
    """Module name -> file, migrations and tests left out."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an imported name lives in (``a.b.c`` may be a name inside ``a.b``)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imported_names(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = module.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return [f"{base}.{alias.name}" for alias in node.names] or [base]


def in_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def in_function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return True
    return False


def scan(root: Path) -> tuple[dict[str, set[str]], dict[str, set[str]], list[str]]:
    """Module-level edges, all edges, and each in-function project import as 'module: target'."""
    modules = project_modules(root)
    top: dict[str, set[str]] = defaultdict(set)
    every: dict[str, set[str]] = defaultdict(set)
    hidden: list[str] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        parents = {
            child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or in_type_checking(node, parents):
                continue
            names = imported_names(node, module, path.name == "__init__.py")
            # ``from package import submodule`` depends on the submodule, not on the package's
            # own __init__ (always imported first, whatever the import names).
            targets = {t for n in names if (t := resolve(n, modules)) and t != module}
            if not targets:
                continue
            every[module] |= targets
            if in_function(node, parents):
                hidden.extend(f"{module}: {t}" for t in sorted(targets))
            else:
                top[module] |= targets
    return top, every, hidden


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
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
            visit(node)
    return groups


def app_of(module: str) -> str:
    """The app (or, inside confops, the sub-package) a module belongs to."""
    parts = module.split(".")
    if parts[0] == "confops" and len(parts) > 2:
        return ".".join(parts[:2])
    return parts[0]


def app_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    apps: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph.items():
        apps[app_of(module)] |= {app_of(t) for t in targets} - {app_of(module)}
    return apps


def lines_per_app(root: Path) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for module, path in project_modules(root).items():
        parts = module.split(".")
        app = ".".join(parts[:2]) if parts[0] == "confops" and len(parts) > 2 else parts[0]
        if parts[0] == "confops" and len(parts) == 2 and (path.parent / "__init__.py") != path:
            app = "confops"
        counts[app] += len(path.read_text().splitlines())
    return dict(sorted(counts.items()))


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    top, every, hidden = scan(root)
    print("lines per app (Python, migrations and tests left out):")
    for app, count in lines_per_app(root).items():
        print(f"  {app:24} {count:6}")
    for label, graph in (
        ("module-level imports", top),
        ("all imports", every),
        ("between apps, all imports", app_graph(every)),
    ):
        groups = cycles(graph)
        print(f"import cycles, {label}: {len(groups)} group(s)")
        for group in groups:
            print(f"  {len(group)} modules: {', '.join(group)}")
    print(f"project imports inside functions: {len(hidden)}")
    for line in hidden:
        print(f"  {line}")


if __name__ == "__main__":
    main()
