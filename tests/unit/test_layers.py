"""The layering holds: pure -> backends -> engine -> app/worker -> cli. A module imports only
from its own layer or below (STYLE.md), checked by reading the imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "baton"

# lower number = lower layer
LAYERS = {
    "errors": 0, "models": 0, "codec": 0, "retry": 0, "limits": 0, "ids": 0, "schedule": 0,
    "redact": 0,
    "blobs": 1, "backends": 1,
    "engine": 2, "job": 2,
    "app": 3, "worker": 3, "testing": 3, "webhooks": 3, "metrics": 0,
    "http": 4, "cli": 4, "__init__": 4, "__main__": 4,
}  # fmt: skip

# The contract's `app.router()` is a door into the HTTP layer, imported lazily inside the
# method so the core never needs FastAPI: the one upward import allowed.
DOORS = {("app.py", "http")}


def layer_of(module: str) -> int:
    top = module.split(".")[0]
    return LAYERS[top]


def baton_imports(path: Path) -> list[str]:
    rel = path.relative_to(PKG).with_suffix("")
    package = list(rel.parts[:-1])
    found = []
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):  # annotations-only imports may point anywhere
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
                if node.module:
                    found.append(target)
                else:  # from .. import codec (a module) or __version__ (the package's own)
                    for alias in node.names:
                        name = ".".join([*base, alias.name])
                        found.append(name if name.split(".")[0] in LAYERS else target or "__init__")
            elif node.module and node.module.startswith("baton."):
                found.append(node.module.removeprefix("baton."))
        elif isinstance(node, ast.Import):
            found.extend(
                a.name.removeprefix("baton.") for a in node.names if a.name.startswith("baton.")
            )
    return found


MODULES = sorted(p for p in PKG.rglob("*.py") if "demo" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_module_imports_only_its_layer_or_below(path: Path) -> None:
    own = layer_of(".".join(path.relative_to(PKG).with_suffix("").parts))
    for target in baton_imports(path):
        if (str(path.relative_to(PKG)), target.split(".")[0]) in DOORS:
            continue
        assert layer_of(target) <= own, f"{path.relative_to(PKG)} imports {target} (a higher layer)"


DEMO = sorted((PKG / "demo").rglob("*.py"))
PUBLIC = {"baton", "baton.http"}


@pytest.mark.parametrize("path", DEMO, ids=lambda p: str(p.relative_to(PKG)))
def test_the_demo_uses_only_the_public_api(path: Path) -> None:
    """The reference app is what users copy: it may import `baton` (the public face),
    `baton.http` (the HTTP extra's public face) and its own modules, nothing inside baton.
    (`baton demo` in cli/demo.py loads it by name, at call time, so the CLI works without
    the demo's extras.)"""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            depth = len(path.relative_to(PKG / "demo").parts) - 1  # 0 for baton/demo/x.py
            assert node.level <= depth + 1, f"{path.name} reaches outside baton.demo"
        elif isinstance(node, ast.ImportFrom) and node.module:
            name = node.module
            assert (
                name in PUBLIC or not name.startswith("baton") or name.startswith("baton.demo")
            ), f"{path.name} imports {name}: use the public `baton` API"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                assert (
                    name in PUBLIC or not name.startswith("baton.") or name.startswith("baton.demo")
                ), f"{path.name} imports {name}: use the public `baton` API"
