"""Session-wide test environment: no cloud metadata probes, no writes to the real home directory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

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
