"""A GCS request sent again by the engine (a retry, a part of a split download, a resend after a 401)
carries the auth headers current then, not the token it was built with (``Request.resign``)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from cloudfiles import CloudFiles
from cloudfiles.interfaces.base import GetItem


class Credentials:
    """Shaped like google-auth Credentials: each refresh() gives a new token."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.expiry: datetime.datetime | None = None
        self.refreshes = 0

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = f"t{self.refreshes}"
        self.expiry = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(hours=1)

    def apply(self, headers: dict[str, str], token: str | None = None) -> None:
        headers["authorization"] = f"Bearer {token or self.token}"


def test_resent_requests_carry_a_fresh_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    iface: Any = CloudFiles("gs://bucket/dir", secrets=Credentials()).interface
    request = iface._media_request("dir/k", GetItem(path="k"), None, context=None)
    assert request.headers == ["authorization: Bearer t1", "Accept-Encoding: gzip"]

    iface.auth.invalidate()  # the server rejected the token (or it expired)
    assert request.resign(request, [("Range", "bytes=0-9"), ("If-Match", "e")]) == [
        "authorization: Bearer t2", "Accept-Encoding: gzip", "Range: bytes=0-9", "If-Match: e",
    ]
    assert request.headers == ["authorization: Bearer t1", "Accept-Encoding: gzip"]  # the request is unchanged


def test_anonymous_requests_are_not_signed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")
    iface: Any = CloudFiles("gs://bucket/dir").interface
    assert iface._media_request("dir/k", GetItem(path="k"), "Range: bytes=0-9", context=None).resign is None
