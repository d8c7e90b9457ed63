"""gcs_auth without sockets: the token cache (with a fake Credentials), discovery order, the emulator switch."""

from __future__ import annotations

import datetime
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from cloudfiles import gcs_auth
from cloudfiles.exceptions import AuthorizationError
from cloudfiles.gcs_auth import ANONYMOUS, TokenSource, credentials_source, emulator_host, endpoint_for


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeCredentials:
    """Shaped like google-auth Credentials: refresh() sets token and a naive-UTC expiry."""

    def __init__(self, clock: Clock, lifetime: float = 3600.0, delay: float = 0.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.delay = delay
        self.token: str | None = None
        self.expiry: datetime.datetime | None = None
        self.refreshes = 0
        self.fail: Exception | None = None
        self.quota_project_id: str | None = None

    def refresh(self, request: Any) -> None:
        if self.delay:
            time.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        self.refreshes += 1
        self.token = f"t{self.refreshes}"
        expiry = datetime.datetime.fromtimestamp(self.clock() + self.lifetime, tz=datetime.timezone.utc)
        self.expiry = expiry.replace(tzinfo=None)

    def apply(self, headers: dict[str, str], token: str | None = None) -> None:
        headers["authorization"] = f"Bearer {token or self.token}"
        if self.quota_project_id:
            headers["x-goog-user-project"] = self.quota_project_id


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    gcs_auth.reset_sources()
    yield
    gcs_auth.reset_sources()


def test_first_call_refreshes_then_cached() -> None:
    clock = Clock()
    creds = FakeCredentials(clock)
    source = TokenSource(creds, transport=object(), clock=clock)
    assert source.headers() == ["authorization: Bearer t1"]
    for _ in range(1000):
        source.headers()
    assert creds.refreshes == 1


def test_refresh_five_minutes_before_expiry() -> None:
    clock = Clock()
    creds = FakeCredentials(clock)
    source = TokenSource(creds, transport=object(), clock=clock)
    source.headers()
    clock.now += 3600 - 301
    assert source.headers() == ["authorization: Bearer t1"] and creds.refreshes == 1
    clock.now += 2
    assert source.headers() == ["authorization: Bearer t2"] and creds.refreshes == 2


def test_short_lived_tokens_are_not_refreshed_on_every_call() -> None:
    clock = Clock()
    creds = FakeCredentials(clock, lifetime=120)  # shorter than the margin
    source = TokenSource(creds, transport=object(), clock=clock)
    source.headers()
    clock.now += 30
    source.headers()
    assert creds.refreshes == 1  # refreshed halfway through its life, not before
    clock.now += 31
    source.headers()
    assert creds.refreshes == 2


def test_expired_token_refreshes_exactly_once_across_threads() -> None:
    clock = Clock()
    creds = FakeCredentials(clock, delay=0.05)
    source = TokenSource(creds, transport=object(), clock=clock)
    source.headers()
    clock.now += 7200  # long expired: every thread must wait for the new token
    barrier = threading.Barrier(16)
    seen: list[list[str]] = []

    def work() -> None:
        barrier.wait()
        seen.append(source.headers())

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert creds.refreshes == 2
    assert all(h == ["authorization: Bearer t2"] for h in seen)


def test_due_but_valid_token_does_not_block_other_threads() -> None:
    clock = Clock()
    creds = FakeCredentials(clock, delay=0.3)
    source = TokenSource(creds, transport=object(), clock=clock)
    creds.delay = 0
    source.headers()
    creds.delay = 0.3
    clock.now += 3600 - 100  # inside the margin, still valid
    refresher = threading.Thread(target=source.headers)
    refresher.start()
    time.sleep(0.05)
    started = time.perf_counter()
    assert source.headers() == ["authorization: Bearer t1"]  # the old token, at once
    assert time.perf_counter() - started < 0.1
    refresher.join()
    assert source.headers() == ["authorization: Bearer t2"] and creds.refreshes == 2


def test_invalidate_after_401_refreshes_once_per_burst() -> None:
    clock = Clock()
    creds = FakeCredentials(clock)
    source = TokenSource(creds, transport=object(), clock=clock)
    used = source.headers()
    source.invalidate(used)
    assert source.headers() == ["authorization: Bearer t2"]
    source.invalidate(used)  # a late 401 for the old token: already replaced
    assert source.headers() == ["authorization: Bearer t2"] and creds.refreshes == 2


def test_refresh_failures_become_authorization_errors() -> None:
    from google.auth import exceptions as gexc

    clock = Clock()
    creds = FakeCredentials(clock)
    creds.fail = gexc.RefreshError("invalid_grant: bad key")
    source = TokenSource(creds, transport=object(), clock=clock)
    with pytest.raises(AuthorizationError, match="invalid_grant"):
        source.headers()
    creds.fail = None
    source.headers()
    clock.now += 3600 - 60  # due; the refresh fails but the token is still valid: keep using it
    creds.fail = gexc.RefreshError("temporarily")
    assert source.headers() == ["authorization: Bearer t1"]


def test_quota_project_header_is_applied() -> None:
    clock = Clock()
    creds = FakeCredentials(clock)
    creds.quota_project_id = "billing"
    assert TokenSource(creds, transport=object(), clock=clock).headers() == [
        "authorization: Bearer t1", "x-goog-user-project: billing",
    ]


# -- discovery ------------------------------------------------------------------------------------------
def test_emulator_host_is_anonymous(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:9023")
    assert emulator_host() == "http://127.0.0.1:9023"
    assert endpoint_for("http://ignored") == "http://127.0.0.1:9023"
    assert credentials_source("b", {"type": "service_account"}) == (None, ANONYMOUS)
    assert ANONYMOUS.headers() == []


def test_endpoint_default_and_override() -> None:
    assert endpoint_for() == gcs_auth.DEFAULT_ENDPOINT
    assert endpoint_for("http://127.0.0.1:1/") == "http://127.0.0.1:1"


def _service_account(project: str, key_id: str) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - a throwaway test key; 1024 bits keeps keygen fast
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {
        "type": "service_account", "project_id": project, "private_key_id": key_id, "private_key": pem,
        "client_email": f"sa@{project}.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "http://127.0.0.1:9/token",
    }


def test_discovery_order_secrets_then_bucket_file_then_default_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets_dir = tmp_path / "cv" / "secrets"
    secrets_dir.mkdir(parents=True)
    monkeypatch.setenv("CLOUD_VOLUME_DIR", str(tmp_path / "cv"))
    monkeypatch.setenv("CLOUD_FILES_DIR", str(tmp_path / "cf"))
    (secrets_dir / "google-secret.json").write_text(json.dumps(_service_account("default-proj", "d")))
    (secrets_dir / "mybucket-google-secret.json").write_text(json.dumps(_service_account("bucket-proj", "b")))

    project, source = credentials_source("mybucket")
    assert project == "bucket-proj" and source.credentials.service_account_email == "sa@bucket-proj.iam.gserviceaccount.com"  # type: ignore[attr-defined]
    project, source = credentials_source("other")
    assert project == "default-proj"
    project, source = credentials_source("mybucket", _service_account("explicit", "e"))
    assert project == "explicit"
    # The same account in two places shares one token source (one token for every CloudFiles).
    assert credentials_source("other")[1] is credentials_source("another")[1]


def test_credentials_object_is_used_as_given() -> None:
    creds = FakeCredentials(Clock())
    _project, source = credentials_source("b", creds)
    assert isinstance(source, TokenSource) and source.credentials is creds
    assert credentials_source("c", creds)[1] is source
    with pytest.raises(TypeError):
        credentials_source("b", 42)


def test_no_credentials_falls_back_to_adc_lazily(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLOUD_VOLUME_DIR", str(tmp_path / "cv"))
    monkeypatch.setenv("CLOUD_FILES_DIR", str(tmp_path / "cf"))
    project, source = credentials_source("b")
    assert project is None and type(source).__name__ == "_DefaultCredentialsSource"
    calls: list[Any] = []

    def fake_default(scopes: Any = None, request: Any = None, **kwargs: Any) -> Any:
        calls.append(request)
        return FakeCredentials(Clock()), "adc-project"

    import google.auth

    monkeypatch.setattr(google.auth, "default", fake_default)
    assert not calls  # nothing looked up until a request needs a token
    assert source.headers()[0].startswith("authorization: Bearer ")
    assert isinstance(calls[0], gcs_auth.EngineTransport)  # discovery traffic would go through the engine


def test_metadata_server_refused_when_no_gce_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from google.auth import exceptions as gexc

    monkeypatch.setenv("NO_GCE_CHECK", "True")  # google-auth itself only honours "true"
    transport = gcs_auth.EngineTransport()
    with pytest.raises(gexc.TransportError, match="NO_GCE_CHECK"):
        transport("http://169.254.169.254/", method="GET")
    with pytest.raises(gexc.TransportError):
        transport("http://metadata.google.internal/computeMetadata/v1/")
