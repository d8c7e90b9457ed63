"""A credential chain that fails is named in the error the user eventually sees.

When botocore's chain raises (a missing profile, a malformed config file), S3 goes on unsigned and the
server's 403 is what surfaces: its message must say why there were no credentials. When google-auth
cannot load the credentials it was pointed at, the error names google-auth's exception and the one
underneath it. Real servers on 127.0.0.1 (SeaweedFS); the GCS cases fail before any request is sent, and
their endpoint is a dead loopback port in case one were.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cloudfiles import CloudFiles
from cloudfiles.exceptions import AuthorizationError

BUCKET = "credchain"
# A service-account key whose private key is not a key.
BROKEN_KEY = {
    "type": "service_account", "project_id": "p", "private_key_id": "k1",
    "private_key": "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
    "client_email": "sa@p.iam.gserviceaccount.com", "client_id": "1",
    "token_uri": "http://127.0.0.1:9/token",
}


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUD_VOLUME_DIR", str(tmp_path / "cv"))
    monkeypatch.setenv("CLOUD_FILES_DIR", str(tmp_path / "cf"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    from cloudfiles.interfaces import s3

    monkeypatch.setattr(s3.credentials, "_CHAIN", {})  # the chain runs once per process and profile: run it again
    return tmp_path


@pytest.fixture(scope="module")
def seaweed(seaweed_server: Any) -> Any:
    seaweed_server.create_bucket(BUCKET)
    return seaweed_server


def test_s3_names_a_missing_profile(seaweed: Any, no_aws_credentials: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    cf = CloudFiles(f"s3://{seaweed.endpoint}/{BUCKET}/x")
    with pytest.raises(AuthorizationError) as info:
        cf.get("k")
    text = str(info.value)
    assert "no AWS credentials were found" in text
    assert "ProfileNotFound" in text and "no-such-profile" in text


def test_s3_names_a_malformed_credentials_file(seaweed: Any, no_aws_credentials: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    broken = no_aws_credentials / "credentials"
    broken.write_text("[default]\naws_access_key_id = AKIA\n  this line is not ini\n[[[\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(broken))
    cf = CloudFiles(f"s3://{seaweed.endpoint}/{BUCKET}/x")
    with pytest.raises(AuthorizationError) as info:
        cf.put("k", b"v")
    text = str(info.value)
    assert "ConfigParseError" in text and str(broken) in text
    assert "AKIA" not in text.replace(str(broken), "")


def test_gcs_names_the_error_behind_application_default_credentials(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    key = tmp_path / "adc.json"
    key.write_text(json.dumps(BROKEN_KEY))
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("CLOUD_VOLUME_DIR", str(tmp_path / "cv"))
    monkeypatch.setenv("CLOUD_FILES_DIR", str(tmp_path / "cf"))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    from cloudfiles import gcs_auth

    gcs_auth.reset_sources()
    try:
        cf = CloudFiles("gs://some-bucket/x", endpoint="http://127.0.0.1:9")
        with pytest.raises(AuthorizationError) as info:
            cf.get("k")
    finally:
        gcs_auth.reset_sources()
    text = str(info.value)
    assert "DefaultCredentialsError" in text and str(key) in text
    assert "caused by ValueError" in text  # what google-auth wrapped: the key would not load
    assert "bm90IGEga2V5" not in text


def test_gcs_names_the_error_of_a_broken_secret_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("CLOUD_VOLUME_DIR", str(tmp_path / "cv"))
    (tmp_path / "cv" / "secrets").mkdir(parents=True)
    (tmp_path / "cv" / "secrets" / "google-secret.json").write_text(json.dumps(BROKEN_KEY))
    from cloudfiles import gcs_auth

    gcs_auth.reset_sources()
    try:
        with pytest.raises(AuthorizationError) as info:
            CloudFiles("gs://some-bucket/x", endpoint="http://127.0.0.1:9").get("k")
    finally:
        gcs_auth.reset_sources()
    assert "ValueError" in str(info.value) and "bm90IGEga2V5" not in str(info.value)
