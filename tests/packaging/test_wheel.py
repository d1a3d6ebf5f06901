"""The built wheel works on its own: templates, static files, WSDL, console script."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import datetime, django
    from decimal import Decimal
    from django.conf import settings
    settings.configure(
        INSTALLED_APPS=["django.contrib.staticfiles", "okpay_gateway"],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                    "APP_DIRS": True}],
        STATIC_URL="/static/",
        DATABASES={},
    )
    django.setup()
    from django.contrib.staticfiles import finders
    from django.template.loader import render_to_string
    import okpay_gateway
    html = render_to_string(
        "okpay_gateway/checkout/preapproval_summary.html",
        {"agreement": {"title": "Gold plan", "currency": "EUR",
                       "monthly_amount": Decimal("30.00"),
                       "end_date": datetime.date(2027, 1, 31), "fee_payer": "client"}},
    )
    assert "Gold plan" in html and "30.00 EUR" in html, html
    assert "site-packages" in okpay_gateway.__file__, okpay_gateway.__file__
    svg = finders.find("okpay_gateway/img/okpay-button.svg")
    assert svg and "site-packages" in svg, svg
    from okpay_gateway.provider.wsdl import WSDL_PATH
    assert WSDL_PATH.is_file() and "site-packages" in str(WSDL_PATH), WSDL_PATH
    print("PROBE-OK", okpay_gateway.__version__)
    """
)


@pytest.mark.slow
def test_wheel_installed_in_fresh_venv_renders_templates_and_finds_static(tmp_path):
    """A wheel installed into a new virtualenv finds templates, static files and the WSDL."""
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", dist],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("okpay_gateway-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert (
        "okpay_gateway/templates/okpay_gateway/checkout/preapproval_summary.html"
        in names
    )
    assert "okpay_gateway/static/okpay_gateway/img/okpay-button.svg" in names
    # Every file of the top-level templates/ and static/ ships: a suffix
    # missing from package_data (the favicon once was) fails here.
    shipped = {
        f"okpay_gateway/{folder}/{path.relative_to(REPO / folder).as_posix()}"
        for folder in ("templates", "static")
        for path in (REPO / folder).rglob("*")
        if path.is_file()
    }
    assert sorted(shipped - names) == []

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", wheel],
        check=True,
        capture_output=True,
    )
    probe_env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [python, "-c", PROBE],
        cwd=tmp_path,
        env=probe_env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "PROBE-OK 0.1.0" in result.stdout
    console = env_dir / "bin" / "okpay-gateway"
    assert console.exists()


def test_setup_cfg_lists_every_python_package():
    """Every package directory of okpay_gateway is listed in setup.cfg (the list is by hand)."""
    import configparser

    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "okpay_gateway").rglob("__init__.py")
    }
    assert found - listed == set()
