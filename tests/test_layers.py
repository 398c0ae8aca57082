"""The package's layers: each imports only the layers below it (docs/architecture.md).

Walks every import in product_studio/ -- module-level and inside functions -- and fails on an
upward import, an import from a part that has no layer yet, and a circle between modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import product_studio

ROOT = Path(product_studio.__file__).parent

# The lowest layer first. A part imports only parts of a lower rank, and modules of its own part.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "version"),
    ("item", "crypto", "limits"),
    ("imageio", "metadata"),  # metadata: what a file carries, read from its container
    ("storage",),
    ("inputs", "runtime", "models"),
    ("vision",),
    ("ops", "understand"),
    ("generate",),  # judges what it makes with understand's classifier
    ("recipe",),
    ("marketplaces",),
    ("pipeline",),
    ("batch", "store", "train"),
    ("server",),
    ("cli",),  # `serve` starts the server
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every product_studio module ``path`` imports (``from . import x`` counts x when it is a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("product_studio"):
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                as_path = ROOT.parent / candidate.replace(".", "/")
                found.add(candidate if as_path.with_suffix(".py").exists() or (as_path / "__init__.py").exists() else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("product_studio"))
    return found


def part_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the package root (re-exports only)


GRAPH = {module_name(p): imported_modules(p) for p in sorted(ROOT.rglob("*.py"))}


def test_every_part_has_a_layer() -> None:
    missing = sorted({part_of(m) for m in GRAPH} - set(RANK) - {None})
    assert not missing, f"parts with no layer in tests/test_layers.py: {missing}"


def test_no_upward_imports() -> None:
    upward = []
    for module, targets in GRAPH.items():
        source = part_of(module)
        if source is None:
            continue
        for target in sorted(targets):
            part = part_of(target)
            if part is None:
                upward.append(f"{module} -> {target} (the package root sits above every layer)")
            elif part != source and RANK.get(part, 99) >= RANK.get(source, -1):
                upward.append(f"{module} -> {target}")
    assert not upward, "imports that go up or sideways:\n" + "\n".join(upward)


def test_no_import_circles() -> None:
    modules = {m for m in GRAPH if m != "product_studio"}
    edges = {m: {t for t in GRAPH[m] if t in modules and t != m} for m in modules}
    for module in modules:  # a package's __init__ importing its own submodules is how packages re-export
        if (ROOT.parent / module.replace(".", "/") / "__init__.py").exists():
            edges[module] = {t for t in edges[module] if not t.startswith(module + ".")}
    state: dict[str, int] = {}
    circles: list[str] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                circles.append(" -> ".join(trail[trail.index(target):] + [target]) if target in trail else f"{node} -> {target}")
            elif target not in state:
                visit(target, trail + [target])
        state[node] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module, [module])
    assert not circles, "import circles:\n" + "\n".join(circles)


@pytest.mark.parametrize("bad", ["product_studio.cli.app", "product_studio.server.app"])
def test_the_walk_sees_imports(bad: str) -> None:
    """The walk itself: a top layer's module does import lower ones (a walk that finds nothing passes every test)."""
    assert any(part_of(t) in {"errors", "imageio", "recipe", "version"} for t in GRAPH[bad])


def test_the_docs_name_every_part() -> None:
    """README's Layout section and docs/architecture.md are kept true: each names every part of the package."""
    top = ROOT.parent
    layout = (top / "README.md").read_text(encoding="utf-8").split("## Layout", 1)[1]
    architecture = (top / "docs" / "architecture.md").read_text(encoding="utf-8")
    parts = sorted({part_of(m) for m in GRAPH} - {None})
    assert not [p for p in parts if p not in layout], "README's Layout section misses parts"
    assert not [p for p in parts if f"`{p}`" not in architecture and f"`{p}/`" not in architecture], "docs/architecture.md misses parts"
