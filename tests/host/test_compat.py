from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from okpay_gateway.host import base_plugin, compat, customer, interface, payment

from .sample_plugins import PREFIX

REPO = Path(__file__).resolve().parents[2]


def test_compat_without_saleor_hands_out_host_names():
    """Without Saleor installed, compat exports the host's own classes and helpers."""
    assert compat.SALEOR is False
    assert compat.BasePlugin is base_plugin.BasePlugin
    assert compat.GatewayResponse is interface.GatewayResponse
    assert compat.TransactionKind is payment.TransactionKind
    assert compat.store_customer_id is customer.store_customer_id


def test_compat_inside_saleor_hands_out_saleor_names(tmp_path):
    """With ``saleor.plugins`` installed, compat's names are Saleor's own objects."""
    stub = tmp_path / "saleor"
    modules = {
        "__init__.py": "",
        "payment/__init__.py": (
            "class ChargeStatus: pass\nclass GatewayError(IOError): pass\n"
            "class PaymentError(Exception): pass\nclass TransactionKind: pass\n"
        ),
        "payment/interface.py": "".join(
            f"class {name}: pass\n"
            for name in [
                "CustomerSource",
                "GatewayConfig",
                "GatewayResponse",
                "InitializedPaymentResponse",
                "PaymentData",
                "PaymentGateway",
                "PaymentMethodInfo",
                "StorePaymentMethodEnum",
                "TokenConfig",
            ]
        ),
        "payment/utils.py": (
            "def fetch_customer_id(user, gateway):\n    return 'saleor:' + gateway\n"
        ),
        "plugins/__init__.py": "",
        "plugins/base_plugin.py": (
            "class BasePlugin: pass\nclass ConfigurationTypeField: pass\n"
        ),
    }
    for name, source in modules.items():
        target = stub / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source)
    script = textwrap.dedent(
        """
        from django.conf import settings
        settings.configure(INSTALLED_APPS=["saleor.plugins"])
        import saleor.plugins.base_plugin as sp
        from okpay_gateway.host import compat
        print(compat.SALEOR, compat.BasePlugin is sp.BasePlugin,
              compat.fetch_customer_id(None, "okpay"))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": f"{tmp_path}:{REPO}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["True", "True", "saleor:okpay"]


def test_host_app_ready_refuses_plugin_without_id(settings):
    """Start-up check: a plugin in PLUGINS without PLUGIN_ID is ImproperlyConfigured."""
    settings.PLUGINS = [PREFIX + "NoIdPlugin"]
    with pytest.raises(ImproperlyConfigured, match=r"PLUGIN_ID for .*NoIdPlugin"):
        apps.get_app_config("okpay_gateway_host").ready()


def test_host_app_ready_refuses_unimportable_plugin(settings):
    """Start-up check: a dotted path that does not import raises ImportError."""
    settings.PLUGINS = [PREFIX + "Missing"]
    with pytest.raises(ImportError):
        apps.get_app_config("okpay_gateway_host").ready()
