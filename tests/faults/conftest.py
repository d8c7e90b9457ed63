"""Real servers behind fault proxies, for the fault suite.

One SeaweedFS (S3, signatures checked), one GCS emulator and one nginx per session, each behind its own
:class:`faultproxy.FaultProxy`. Clients talk to the proxies only. Every test starts with clean proxies
(no rules, no rate) and gets CloudFiles objects whose retry policy is the default's shape with short
waits, so a test that exhausts the budget costs well under a second instead of a minute.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from faultproxy import FaultProxy
from gcs_emulator import GCSEmulator
from seaweed import SeaweedFS
from servers import Nginx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultenv import GS_BUCKET, S3_BUCKET, Servers


@pytest.fixture(scope="session")
def seaweed(seaweed_server: SeaweedFS) -> SeaweedFS:
    seaweed_server.create_bucket(S3_BUCKET)
    return seaweed_server


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[GCSEmulator]:
    # With GCS's download headers (x-goog-hash, stored encoding): one request per download, as on GCS.
    emulator = GCSEmulator(GS_BUCKET, encoding_headers=True).start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def nginx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    server = Nginx(tmp_path_factory.mktemp("nginx-faults")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_proxy(seaweed: SeaweedFS) -> Iterator[FaultProxy]:
    proxy = FaultProxy(seaweed.port).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def gs_proxy(gcs_server: GCSEmulator) -> Iterator[FaultProxy]:
    proxy = FaultProxy(gcs_server.port).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def http_proxy(nginx_server: Nginx) -> Iterator[FaultProxy]:
    proxy = FaultProxy(nginx_server.port).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def gs_env(gs_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> FaultProxy:
    """STORAGE_EMULATOR_HOST -> the gs proxy, for this test only (other modules use their own emulator)."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gs_proxy.url)
    return gs_proxy


@pytest.fixture
def servers(s3_proxy: FaultProxy, gs_env: FaultProxy, http_proxy: FaultProxy, seaweed: SeaweedFS,
            nginx_server: Nginx) -> Iterator[Servers]:
    yield Servers(s3_proxy, gs_env, http_proxy, seaweed, nginx_server)
    for proxy in (s3_proxy, gs_env, http_proxy):
        proxy.clear()

