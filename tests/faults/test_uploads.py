"""Large uploads under faults: a failed S3 multipart or GCS composite upload leaves nothing behind
(no parts, no unfinished upload, no half object); a retried part is idempotent."""

from __future__ import annotations

import os

import pytest
from faultenv import Servers
from faultproxy import Fault, on

from cloudfiles.exceptions import ServerError

MiB = 1 << 20


def s3_big(servers: Servers) -> tuple[object, bytes]:
    cf = servers.cf("s3", composite_upload_threshold=5 * MiB)
    return cf, os.urandom(9 * MiB)  # two parts: 8 MiB + 1 MiB


@pytest.mark.parametrize("where", ["part", "complete"])
def test_s3_failed_multipart_leaves_no_parts(servers: Servers, where: str) -> None:
    cf, data = s3_big(servers)
    proxy = servers.proxies["s3"]
    match = on(method="PUT", query="partNumber=2") if where == "part" else on(method="POST", query="uploadId=")
    proxy.always(Fault.http(503), match=match)
    with pytest.raises(ServerError) as info:
        cf.put("big", data)
    assert info.value.status == 503 and "big" in info.value.url
    assert proxy.count() >= 2
    proxy.clear()
    assert cf.interface.multipart_uploads() == []  # type: ignore[attr-defined]  # aborted: no parts kept
    assert cf.exists("big") is False


def test_s3_multipart_part_retried_after_server_stored_it(servers: Servers) -> None:
    cf, data = s3_big(servers)
    proxy = servers.proxies["s3"]
    proxy.script(Fault.http(500, forward=True), match=on(method="PUT", query="partNumber=1"))
    proxy.script(Fault.reset(forward=True), match=on(method="POST", query="uploadId="))
    cf.put("big", data)
    assert proxy.count() == 2
    assert cf.get("big") == data
    assert cf.interface.multipart_uploads() == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("where", ["part", "compose"])
def test_gs_failed_composite_leaves_no_parts(servers: Servers, where: str) -> None:
    cf = servers.cf("gs", composite_upload_threshold=64 * 1024)
    data = os.urandom(200 * 1024)  # four parts, composed once
    proxy = servers.proxies["gs"]
    match = on(method="POST", path="/upload/", body=b".0.2.part") if where == "part" else on(method="POST", path="/compose")
    proxy.always(Fault.http(503), match=match)
    with pytest.raises(ServerError) as info:
        cf.put("big", data)
    assert info.value.status == 503
    assert proxy.count() >= 2
    proxy.clear()
    assert list(cf.list()) == []  # no parts, no object


def test_gs_composite_retried_parts_are_idempotent(servers: Servers) -> None:
    cf = servers.cf("gs", composite_upload_threshold=64 * 1024)
    data = os.urandom(200 * 1024)
    proxy = servers.proxies["gs"]
    proxy.script(Fault.http(500, forward=True), match=on(method="POST", path="/upload/", body=b".0.1.part"))
    proxy.script(Fault.reset(forward=True), match=on(method="POST", path="/compose"))
    cf.put("big", data)
    assert proxy.count() == 2
    assert cf.get("big") == data
    assert list(cf.list()) == ["big"]
