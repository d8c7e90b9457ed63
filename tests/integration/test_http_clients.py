"""What real HTTP clients do, on real local servers: CAVE bearer tokens (``middleauth+https://``),
redirects, a User-Agent, CA bundles named by the environment (http, s3, gs), and listing public GCS
buckets through ``https://storage.googleapis.com/BUCKET/...`` (the emulator stands in for Google).

Every server binds 127.0.0.1. TLS comes from a CA made in the test (``tests/tls.py``) and a TLS proxy
in front of a plain server (a scripted one, SeaweedFS, the GCS emulator). Tests that name Google's host
also point every proxy variable at a dead loopback port, so even a regression could not send a packet
to the internet.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from cloudfiles import CloudFiles
from cloudfiles.exceptions import AuthorizationError, NetworkError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gcs_emulator import GCSEmulator
from servers import ScriptedServer, respond
from tls import TlsProxy, make_ca

CA_VARS = ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
_counter = itertools.count()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls_scripted(scripted: ScriptedServer, tls: tuple[Path, Path, Path]) -> Iterator[TlsProxy]:
    proxy = TlsProxy(scripted.port, tls[1], tls[2]).start()
    yield proxy
    proxy.stop()


@pytest.fixture(autouse=True)
def _no_ca_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CA_VARS:
        monkeypatch.delenv(name, raising=False)


# -- redirects and User-Agent ----------------------------------------------------------------------------
def redirect(status: int, location: str) -> Any:
    return respond(status, b"moved", {"Location": location})


def recording(header: str, into: list[str | None], body: bytes) -> Any:
    """Answer 200 ``body``, noting the request's ``header`` (None when absent) in ``into``."""

    def action(h: BaseHTTPRequestHandler) -> None:
        into.append(h.headers.get(header))
        respond(200, body)(h)

    return action


def test_get_and_head_follow_redirects(scripted: ScriptedServer) -> None:
    d = f"r{next(_counter)}"
    scripted.script(f"/{d}/a", redirect(301, f"/{d}/b"))
    scripted.script(f"/{d}/b", redirect(302, f"{scripted.url}/{d}/target"))
    scripted.script(f"/{d}/target", respond(200, b"the payload", {"Content-Type": "text/plain"}))
    cf = CloudFiles(f"{scripted.url}/{d}")
    assert cf.get("a") == b"the payload"
    assert cf.get({"path": "a", "start": 4, "end": 7}) is not None
    assert cf.exists("a") is True  # HEAD follows too
    assert cf.size("a") == len(b"the payload")
    assert cf.head("a")["Content-Type"] == "text/plain"


def test_a_redirect_loop_stops_at_the_bound(scripted: ScriptedServer) -> None:
    d = f"l{next(_counter)}"
    scripted.script(f"/{d}/a", redirect(302, f"/{d}/b"))
    scripted.script(f"/{d}/b", redirect(302, f"/{d}/a"))
    cf = CloudFiles(f"{scripted.url}/{d}")
    with pytest.raises(NetworkError) as info:
        cf.get("a")
    assert "redirect" in str(info.value).lower() and info.value.curl_code == 47
    assert scripted.hits[f"/{d}/a"] + scripted.hits[f"/{d}/b"] == 11  # the first request + 10 redirects


def test_credentials_are_not_sent_to_another_origin(scripted: ScriptedServer) -> None:
    other = ScriptedServer().start()
    try:
        seen: list[str | None] = []
        d = f"o{next(_counter)}"
        other.script(f"/{d}/x", recording("Authorization", seen, b"elsewhere"))
        scripted.script(f"/{d}/x", redirect(302, f"{other.url}/{d}/x"))
        cf = CloudFiles(f"{scripted.url}/{d}", secrets={"user": "u", "password": "p"})
        assert cf.get("x") == b"elsewhere"
        assert seen == [None]
    finally:
        other.stop()


def test_requests_carry_a_user_agent(scripted: ScriptedServer) -> None:
    import cloudfiles

    agents: list[str | None] = []
    d = f"u{next(_counter)}"
    scripted.script(f"/{d}/x", recording("User-Agent", agents, b"ok"))
    cf = CloudFiles(f"{scripted.url}/{d}")
    cf.get("x")
    cf.exists("x")
    assert agents and all(a is not None and a.startswith(f"cloudfiles/{cloudfiles.__version__} ") for a in agents)


# -- CA bundles from the environment ---------------------------------------------------------------------
@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"])
def test_https_trusts_the_ca_bundle_the_environment_names(
    variable: str, scripted: ScriptedServer, tls_scripted: TlsProxy, tls: tuple[Path, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    d = f"t{next(_counter)}"
    scripted.script(f"/{d}/x", respond(200, b"over tls"))
    url = f"{tls_scripted.url}/{d}"
    untrusted = CloudFiles(url)
    with pytest.raises(NetworkError) as info:
        untrusted.get("x")
    assert "certificate" in str(info.value).lower()
    monkeypatch.setenv(variable, str(tls[0]))
    trusted = CloudFiles(url)
    assert trusted.get("x") == b"over tls"
    assert trusted.exists("x") is True
    # Read once, when the CloudFiles is made: later changes to the environment do not reach it.
    monkeypatch.delenv(variable)
    assert trusted.get("x") == b"over tls"
    with pytest.raises(NetworkError):
        untrusted.get("x")


@pytest.fixture(scope="module")
def tls_seaweed(seaweed_server: Any, tls: tuple[Path, Path, Path]) -> Iterator[tuple[Any, TlsProxy]]:
    seaweed_server.create_bucket("tlsbucket")
    proxy = TlsProxy(seaweed_server.port, tls[1], tls[2]).start()
    yield seaweed_server, proxy
    proxy.stop()


@pytest.mark.parametrize("variable", ["AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE"])
def test_s3_over_https_trusts_the_ca_bundle(
    variable: str, tls_seaweed: tuple[Any, TlsProxy], tls: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    seaweed, proxy = tls_seaweed
    path = f"s3://{proxy.url}/tlsbucket/v{next(_counter)}"
    with pytest.raises(NetworkError) as info:
        CloudFiles(path, secrets=seaweed.secrets).put("k", b"signed, over tls")
    assert "certificate" in str(info.value).lower()
    monkeypatch.setenv(variable, str(tls[0]))
    cf = CloudFiles(path, secrets=seaweed.secrets)
    cf.put("k", b"signed, over tls")  # SigV4 signed for the proxy's host: SeaweedFS checks it
    assert cf.get("k") == b"signed, over tls"
    assert list(cf.list()) == ["k"]


PUBLIC = "public-bucket"


@pytest.fixture(scope="module")
def emulator() -> Iterator[GCSEmulator]:
    emu = GCSEmulator(PUBLIC).start()
    yield emu
    emu.stop()


def test_gs_over_https_trusts_the_ca_bundle(emulator: GCSEmulator, tls: tuple[Path, Path, Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = TlsProxy(emulator.port, tls[1], tls[2]).start()
    try:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        path = f"gs://{PUBLIC}/tls{next(_counter)}"
        with pytest.raises(NetworkError):
            CloudFiles(path).put("k", b"v")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls[0]))
        cf = CloudFiles(path)
        cf.put("k", b"gcs over tls")
        assert cf.get("k") == b"gcs over tls"
    finally:
        proxy.stop()


# -- middleauth+https:// (CAVE) --------------------------------------------------------------------------
TOKEN = "cave-token-123"


def bearer_only(body: bytes) -> Any:
    """Answer ``body`` to ``Bearer TOKEN``; 401 without credentials, 403 with other ones."""

    def action(h: BaseHTTPRequestHandler) -> None:
        auth = h.headers.get("Authorization")
        if auth is None:
            respond(401, b'{"error": "authentication required"}', {"Content-Type": "application/json"})(h)
        elif auth != f"Bearer {TOKEN}":
            respond(403, b'{"error": "forbidden"}', {"Content-Type": "application/json"})(h)
        else:
            respond(200, body, {"Content-Type": "application/octet-stream"})(h)

    return action


@pytest.fixture
def cave(scripted: ScriptedServer, tls_scripted: TlsProxy, tls: tuple[Path, Path, Path],
         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A CAVE-like service (bearer token required) at middleauth+https://127.0.0.1:PORT/cN."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls[0]))
    monkeypatch.setenv("CLOUD_VOLUME_DIR", str(tmp_path / "cv"))
    monkeypatch.setenv("CLOUD_FILES_DIR", str(tmp_path / "cf"))
    d = f"c{next(_counter)}"
    scripted.script(f"/{d}/info", bearer_only(b'{"type": "segmentation"}'))
    scripted.script(f"/{d}/missing", lambda h: respond(404, b"not here")(h))
    return f"middleauth+https://127.0.0.1:{tls_scripted.port}/{d}"


@pytest.mark.parametrize("secrets", [{"token": TOKEN}, json.dumps({"token": TOKEN})], ids=["dict", "json"])
def test_cave_sends_the_bearer_token_from_secrets(cave: str, secrets: Any) -> None:
    from cloudfiles.interfaces.http import CaveInterface

    cf = CloudFiles(cave, secrets=secrets)
    assert isinstance(cf.interface, CaveInterface)
    assert cf.get("info") == b'{"type": "segmentation"}'
    assert cf.exists("info") is True
    assert cf.exists("missing") is False
    assert cf.size("info") == len(b'{"type": "segmentation"}')
    assert cf.head("info")["Content-Length"] == len(b'{"type": "segmentation"}')
    assert cf.get("missing") is None


def test_cave_token_from_secret_files_server_first(cave: str, tmp_path: Path) -> None:
    secrets_dir = tmp_path / "cv" / "secrets"
    secrets_dir.mkdir(parents=True)
    server = urlsplit(cave.replace("middleauth+", "")).netloc  # host:port, as cloud-files derived it
    (secrets_dir / "cave-secret.json").write_text(json.dumps({"token": "the-general-one"}))
    with pytest.raises(AuthorizationError):  # the general file's token is refused (403)
        CloudFiles(cave).get("info")
    (secrets_dir / f"{server}-cave-secret.json").write_text(json.dumps({"token": TOKEN}))
    assert CloudFiles(cave).get("info") == b'{"type": "segmentation"}'
    # secrets= wins over both files
    with pytest.raises(AuthorizationError):
        CloudFiles(cave, secrets={"token": "wrong"}).get("info")


def test_cave_without_a_token_is_an_authorization_error(cave: str) -> None:
    cf = CloudFiles(cave)
    with pytest.raises(AuthorizationError) as info:  # 401
        cf.get("info")
    assert info.value.status == 401 and "cave-secret.json" in str(info.value)
    with pytest.raises(AuthorizationError):
        cf.head("info")
    wrong = CloudFiles(cave, secrets={"token": "not-it"})
    with pytest.raises(AuthorizationError) as info:  # 403: a CAVE service refusing, never "missing"
        wrong.get("info")
    assert info.value.status == 403 and "not-it" not in str(info.value)
    with pytest.raises(AuthorizationError):
        wrong.exists("info")


# -- public GCS buckets over https://storage.googleapis.com -----------------------------------------------
@pytest.fixture
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Route every request not to loopback through a proxy that does not exist (on 127.0.0.1)."""
    for name in ("ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def public(emulator: GCSEmulator, monkeypatch: pytest.MonkeyPatch, no_internet: None) -> tuple[CloudFiles, CloudFiles]:
    """(gs:// CloudFiles, the same directory as https://storage.googleapis.com/...), seeded."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.url)
    d = f"pub{next(_counter)}"
    gs = CloudFiles(f"gs://{PUBLIC}/{d}")
    gs.puts([
        ("a", b"1"), ("b", b"22"), ("dir/c", b"333"), ("dir/d", b"4444"), ("dir/sub/e", b"55555"),
        ("bigarray/x", b"666666"), ("bigarr", b"7777777"),
    ])
    https = CloudFiles(f"gs://{PUBLIC}/{d}", use_https=True)
    assert https.cloudpath == f"https://storage.googleapis.com/{PUBLIC}/{d}"
    # Never reach for Google: with the emulator named, this host's requests go to it.
    assert https.interface.base_url.startswith(emulator.url)  # type: ignore[attr-defined]
    return gs, https


def test_public_gcs_listing_matches_gs(public: tuple[CloudFiles, CloudFiles]) -> None:
    gs, https = public
    assert sorted(https.list()) == sorted(gs.list()) == sorted(
        ["a", "b", "dir/c", "dir/d", "dir/sub/e", "bigarray/x", "bigarr"]
    )
    assert sorted(https.list(flat=True)) == sorted(gs.list(flat=True))
    assert sorted(https.list("dir/", flat=True)) == sorted(gs.list("dir/", flat=True)) == ["dir/c", "dir/d", "dir/sub/"]
    assert sorted(https.list("bigarr")) == sorted(gs.list("bigarr")) == ["bigarr", "bigarray/x"]
    assert sorted(https.list("dir/", size=True)) == [("dir/c", 3), ("dir/d", 4), ("dir/sub/e", 5)]
    assert https.get("dir/sub/e") == b"55555"


def test_public_gcs_listing_follows_pages(scripted: ScriptedServer, monkeypatch: pytest.MonkeyPatch,
                                          no_internet: None) -> None:
    # The emulator ignores maxResults (one page, always): a scripted stand-in serves three pages.
    bucket = f"paged{next(_counter)}"
    asked: list[dict[str, list[str]]] = []
    pages = {
        None: {"items": [{"name": "dir/1", "size": "1"}, {"name": "dir/2", "size": "2"}], "nextPageToken": "t1"},
        "t1": {"items": [{"name": "dir/3", "size": "3"}], "prefixes": ["dir/sub/"], "nextPageToken": "t2"},
        "t2": {"items": [{"name": "dir/4", "size": "4"}]},
    }

    def page(h: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlsplit(h.path).query)
        asked.append(query)
        token = query.get("pageToken", [None])[0]
        answer = dict(pages[token])
        if "delimiter" not in query and answer.pop("prefixes", None):
            answer["items"] = [*answer["items"], {"name": "dir/sub/5", "size": "5"}]
        respond(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})(h)

    scripted.script(f"/storage/v1/b/{bucket}/o", page)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", scripted.url)
    cf = CloudFiles(f"https://storage.googleapis.com/{bucket}")
    assert cf.interface.base_url.startswith(scripted.url)  # type: ignore[attr-defined]
    # each page: its prefixes first, then its objects (as cloud-files listed GCS)
    assert list(cf.list("dir/", flat=True)) == ["dir/1", "dir/2", "dir/sub/", "dir/3", "dir/4"]
    assert [q.get("pageToken") for q in asked] == [None, ["t1"], ["t2"]]
    assert all(q["prefix"] == ["dir/"] and q["delimiter"] == ["/"] for q in asked)
    assert list(cf.list("dir/", size=True)) == [("dir/1", 1), ("dir/2", 2), ("dir/3", 3), ("dir/sub/5", 5), ("dir/4", 4)]
    tokens = dict(cf.list("dir/", return_resume_token=True))
    assert tokens["dir/1"] == "t1" and tokens["dir/4"] is None
    assert list(cf.list("dir/", resume_token="t2")) == ["dir/4"]  # resumes at the page named


def test_public_gcs_listing_refused_is_an_authorization_error(scripted: ScriptedServer,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              no_internet: None) -> None:
    bucket = f"private{next(_counter)}"
    scripted.script(f"/storage/v1/b/{bucket}/o", respond(
        401, b'{"error": {"code": 401, "message": "Anonymous caller does not have storage.objects.list access"}}',
        {"Content-Type": "application/json"},
    ))
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", scripted.url)
    cf = CloudFiles(f"https://storage.googleapis.com/{bucket}/x")
    assert cf.interface.base_url.startswith(scripted.url)  # type: ignore[attr-defined]
    with pytest.raises(AuthorizationError):
        list(cf.list())
