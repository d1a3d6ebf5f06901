"""The App imports only downward (architecture: no emulator, plugin or host)."""

from __future__ import annotations

import ast
from pathlib import Path

import okpay_gateway.contrib.saleor_app as package

FORBIDDEN = (
    "okpay_gateway.emulator",
    "okpay_gateway.contrib.saleor",
    "okpay_gateway.host",
    "saleor",
    "graphene",
)


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _forbidden(name: str) -> bool:
    return any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)


def test_app_modules_import_no_emulator_plugin_or_host():
    root = Path(package.__file__).parent
    modules = sorted(root.rglob("*.py"))
    assert len(modules) > 15
    offenders = {
        str(path.relative_to(root)): bad
        for path in modules
        if (bad := [name for name in _imports(path) if _forbidden(name)])
    }
    assert offenders == {}


def test_the_check_recognises_a_forbidden_import():
    assert _forbidden("okpay_gateway.contrib.saleor.consts")
    assert not _forbidden("okpay_gateway.contrib.saleor_app.models")
