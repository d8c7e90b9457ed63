"""Servers for the integration tests, started once per test session on 127.0.0.1."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudfiles.interfaces import file_writes, remote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import Nginx


@pytest.fixture(scope="session")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    server = Nginx(tmp_path_factory.mktemp("nginx")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server(seaweed_server: Any) -> Any:
    """The session's SeaweedFS with bucket ``eco`` for the ecosystem tests (fsspec, dask, numpy)."""
    seaweed_server.create_bucket("eco")
    return seaweed_server


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every request the network interfaces hand to the engine during the test."""
    seen: list[Any] = []
    run = remote.RemoteInterface.run

    def counting(self: remote.RemoteInterface, requests: Iterable[Any]) -> Iterator[Any]:
        def tap() -> Iterator[Any]:
            for req in requests:
                seen.append(req)
                yield req

        return run(self, tap())

    monkeypatch.setattr(remote.RemoteInterface, "run", counting)
    return seen


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts of the syncfs and fsync calls file:// writes make during the test (both still happen)."""
    calls = {"syncfs": 0, "fsync": 0}
    real_sync, real_fsync = file_writes.sync_filesystem_of, os.fsync

    def count_sync(path: str) -> None:
        calls["syncfs"] += 1
        real_sync(path)

    def count_fsync(fd: int) -> None:
        calls["fsync"] += 1
        real_fsync(fd)

    monkeypatch.setattr(file_writes, "sync_filesystem_of", count_sync)
    monkeypatch.setattr(os, "fsync", count_fsync)
    return calls
