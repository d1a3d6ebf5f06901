from __future__ import annotations

import pytest

from tests.demo.server import DemoServer, start_demo


@pytest.fixture(scope="package")
def demo_server(tmp_path_factory: pytest.TempPathFactory):
    """One demo process for the package's tests (renewals only on demand)."""
    server = start_demo(tmp_path_factory.mktemp("demo-data"), "--renew-interval", "0")
    yield server
    server.stop()


@pytest.fixture
def demo(demo_server: DemoServer) -> DemoServer:
    return demo_server
