"""``coalesce_gap`` on a real server: the gap decides how many requests go out, never the bytes returned."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pytest

from cloudfiles import CloudFiles
from cloudfiles.coalesce import GAP_ENV

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import Nginx

KiB = 1 << 10


@pytest.fixture(scope="module")
def spread(nginx: Nginx) -> tuple[str, bytes, list[dict[str, Any]]]:
    """One 2 MiB object and 40 ranges of 100 bytes, 50 KiB apart (gaps of 50 KiB - 100 bytes)."""
    data = random.Random(11).randbytes(2048 * KiB)
    root = nginx.root / "gap"
    root.mkdir(exist_ok=True)
    (root / "obj").write_bytes(data)
    items = [{"path": "obj", "start": i * 50 * KiB, "end": i * 50 * KiB + 100, "tags": i} for i in range(40)]
    return f"{nginx.url}/gap", data, items


def _check(cf: CloudFiles, data: bytes, items: list[dict[str, Any]]) -> None:
    got = {r["tags"]: r["content"] for r in cf.get(items)}
    assert got == {it["tags"]: data[it["start"] : it["end"]] for it in items}


@pytest.mark.parametrize(("gap", "requests"), [(0, 40), (16 * KiB, 40), (64 * KiB, 1), (None, 1)])
def test_the_gap_sets_the_request_count_not_the_bytes(
    spread: tuple[str, bytes, list[dict[str, Any]]], sent: list[Any], gap: int | None, requests: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(GAP_ENV, raising=False)
    url, data, items = spread
    _check(CloudFiles(url, coalesce_gap=gap), data, items)
    assert len(sent) == requests


def test_the_environment_sets_the_gap_when_the_option_is_none(
    spread: tuple[str, bytes, list[dict[str, Any]]], sent: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, data, items = spread
    monkeypatch.setenv(GAP_ENV, "0")
    _check(CloudFiles(url), data, items)
    assert len(sent) == 40
    sent.clear()
    _check(CloudFiles(url, coalesce_gap=1 << 20), data, items)  # the option wins over the environment
    assert len(sent) == 1
