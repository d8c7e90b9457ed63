"""A stalled request inside a batch hits the read timeout, not the connect timeout (engine sweep)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import ScriptedServer, respond, stall

from cloudfiles import CloudFiles
from cloudfiles.exceptions import RequestTimeoutError
from cloudfiles.retry import Retry


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer().start()
    yield server
    server.stop_event.set()
    server.stop()


@pytest.mark.parametrize("batch", [["ok", "stalled"], ["stalled", "ok", "ok2", "ok3"]])
def test_stall_in_a_batch_hits_the_read_timeout(scripted: ScriptedServer, batch: list[str]) -> None:
    for key in ("ok", "ok2", "ok3"):
        scripted.script(f"/d/{key}", respond(200, key.encode() * 1000))
    scripted.script("/d/stalled", stall(scripted))
    # libcurl armed no low-speed check for a silent transfer once the others were done: it waited
    # for the connect timeout (here 30 s) instead. The bound is a budget far below that.
    cf = CloudFiles(f"{scripted.url}/d", read_timeout=1.0, connect_timeout=30.0)
    cf.interface.retry = Retry(attempts=1)  # type: ignore[attr-defined]
    start = time.monotonic()
    results = {r["path"]: r for r in cf.get(batch, raise_errors=False)}
    assert time.monotonic() - start < 15
    assert isinstance(results["stalled"]["error"], RequestTimeoutError)
    assert all(results[k]["content"] == k.encode() * 1000 for k in batch if k != "stalled")
