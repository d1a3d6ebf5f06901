"""Import contracts: the layer rules of the architecture notes, and no loops.

Each layer may import only downward (``docs/architecture.md``). The graph is
read from the source (:mod:`tests.architecture.imports`), function-level
imports included: an import deferred into a function still makes the lower
layer depend on the upper one, and still hides a loop.
"""

from __future__ import annotations

import pytest

from tests.architecture.imports import Import, cycles, import_graph

P = "okpay_gateway"

# Each layer by module prefix, and what it must not import. Prefixes are
# matched on whole dotted segments; the most specific layer wins.
LAYERS: dict[str, tuple[str, ...]] = {
    # The protocol layer: no Django, nothing of the app above it.
    f"{P}.provider": (
        "django",
        "saleor",
        "graphene",
        f"{P}.models",
        f"{P}.conf",
        f"{P}.payments",
        f"{P}.notifications",
        f"{P}.billing",
        f"{P}.host",
        f"{P}.contrib",
        f"{P}.graphql",
        f"{P}.emulator",
        f"{P}.demo",
    ),
    # Pure shared modules the provider layer may use.
    f"{P}.exceptions": ("django", f"{P}.models", f"{P}.billing"),
    f"{P}.types": ("django", f"{P}.models", f"{P}.billing"),
    f"{P}.enums": ("django", f"{P}.models", f"{P}.billing"),
    # The Django core.
    f"{P}": (
        "saleor",
        "graphene",
        f"{P}.emulator",
        f"{P}.billing",
        f"{P}.host",
        f"{P}.contrib",
        f"{P}.graphql",
        f"{P}.demo",
    ),
    f"{P}.billing": (
        "saleor",
        "graphene",
        f"{P}.views",
        f"{P}.host",
        f"{P}.contrib",
        f"{P}.graphql",
        f"{P}.emulator",
        f"{P}.demo",
    ),
    # Management commands run the billing and core operations.
    f"{P}.management": (
        "saleor",
        "graphene",
        f"{P}.host",
        f"{P}.contrib",
        f"{P}.graphql",
        f"{P}.emulator",
        f"{P}.demo",
    ),
    f"{P}.host": (f"{P}.emulator", f"{P}.contrib", f"{P}.graphql", f"{P}.demo"),
    f"{P}.contrib.saleor": (f"{P}.emulator", f"{P}.demo"),
    # The Saleor App shares the core and billing with the plugin, not its code.
    f"{P}.contrib.saleor_app": (
        f"{P}.emulator",
        f"{P}.contrib.saleor",
        f"{P}.host",
        f"{P}.graphql",
        f"{P}.demo",
    ),
    f"{P}.graphql": (f"{P}.emulator", f"{P}.demo"),
    # The demo shop sits on top of everything.
    f"{P}.demo": (),
    # The stand-in OKPAY knows only the wire contract.
    f"{P}.emulator": (
        f"{P}.models",
        f"{P}.conf",
        f"{P}.payments",
        f"{P}.notifications",
        f"{P}.contracts",
        f"{P}.billing",
        f"{P}.host",
        f"{P}.contrib",
        f"{P}.graphql",
        f"{P}.demo",
    ),
}

# The pure billing modules (checked with mypy --strict) touch no Django.
PURE = {
    f"{P}.billing.schedule",
    f"{P}.billing.states",
    f"{P}.billing.allowance",
    f"{P}.billing.dunning",
    f"{P}.billing.plan",
}

# Wiring, not dependency: the app config connects billing's receivers and
# system check when Django starts (flow E needs them in every process), and
# the admin site registers billing's admin classes.
ALLOWED = {
    (f"{P}.apps", f"{P}.billing.checks"),
    (f"{P}.apps", f"{P}.billing.receivers"),
    (f"{P}.admin", f"{P}.billing.admin"),
}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _layer_of(module: str) -> str | None:
    matches = [prefix for prefix in LAYERS if _within(module, prefix)]
    return max(matches, key=len) if matches else None


def _violations(edges: list[Import]) -> list[str]:
    found = []
    for imp in edges:
        layer = _layer_of(imp.source)
        if layer is None or (imp.source, imp.target) in ALLOWED:
            continue
        for forbidden in LAYERS[layer]:
            # A layer may import its own inner packages (billing from core is
            # forbidden, but billing itself is not "core importing billing").
            if _within(imp.target, forbidden) and not _within(imp.source, forbidden):
                found.append(f"{imp.source}:{imp.line} imports {imp.target}")
    return found


@pytest.fixture(scope="module")
def edges() -> list[Import]:
    return import_graph()


def test_layers_import_only_downward(edges):
    """No module imports a layer that architecture.md forbids it."""
    assert _violations(edges) == []


def test_pure_billing_modules_import_no_django(edges):
    """schedule, states, allowance, dunning and plan stay free of Django."""
    found = [
        f"{imp.source}:{imp.line} imports {imp.target}"
        for imp in edges
        if imp.source in PURE
        and (
            _within(imp.target, "django")
            or _within(imp.target, f"{P}.models")
            or _within(imp.target, f"{P}.conf")
        )
    ]
    assert found == []


def test_no_import_loops(edges):
    """The package's import graph has no cycle, deferred imports included."""
    everything = [Import(imp.source, imp.target, imp.line, True) for imp in edges]
    assert cycles(everything) == []


def test_contract_check_catches_a_violation():
    """The checker itself reports an upward import and a loop it is shown."""
    upward = [Import(f"{P}.provider.client", "django.db", 1, True)]
    loop = [
        Import(f"{P}.emulator.clock", f"{P}.emulator.operations", 1, True),
        Import(f"{P}.emulator.operations", f"{P}.emulator.clock", 1, True),
    ]
    assert _violations(upward) == [f"{P}.provider.client:1 imports django.db"]
    assert cycles(loop) == [[f"{P}.emulator.clock", f"{P}.emulator.operations"]]
