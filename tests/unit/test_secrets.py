"""cloudfiles.secrets: discovery order of SPEC 2.3 over files in a tmp dir and env vars."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from cloudfiles import secrets
from cloudfiles.secrets import SecretDict

AWS_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLOUD_VOLUME_DIR", str(tmp_path / "cv"))
    monkeypatch.setenv("CLOUD_FILES_DIR", str(tmp_path / "cf"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws" / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws" / "config"))
    for var in AWS_ENV:
        monkeypatch.delenv(var, raising=False)
    yield tmp_path


def cv_secret(root: Path, name: str, content: object) -> Path:
    return _write(root / "cv" / "secrets" / name, content)


def cf_secret(root: Path, name: str, content: object) -> Path:
    return _write(root / "cf" / "secrets" / name, content)


def _write(path: Path, content: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


AWS_A = {"AWS_ACCESS_KEY_ID": "AKIA_A", "AWS_SECRET_ACCESS_KEY": "secret-a"}
AWS_B = {
    "AWS_ACCESS_KEY_ID": "AKIA_B",
    "AWS_SECRET_ACCESS_KEY": "secret-b",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


# --------------------------------------------------------------------------------------------------------
# directories and secretpath
# --------------------------------------------------------------------------------------------------------


def test_dirs_follow_env(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert str(home / "cf") == secrets.CLOUD_FILES_DIR
    assert str(home / "cv") == secrets.CLOUD_VOLUME_DIR
    monkeypatch.delenv("CLOUD_FILES_DIR")
    monkeypatch.delenv("CLOUD_VOLUME_DIR")
    assert str(home / "home" / ".cloudfiles") == secrets.CLOUD_FILES_DIR
    assert secrets.cloud_volume_dir() == str(home / "home" / ".cloudvolume")
    with pytest.raises(AttributeError):
        secrets.NOT_A_THING  # noqa: B018
    assert str(home / "home" / ".cloudfiles" / "secrets") == secrets.CLOUD_FILES_SECRETS_DIR
    assert str(home / "home" / ".cloudvolume" / "secrets") == secrets.CLOUD_VOLUME_SECRETS_DIR
    monkeypatch.delenv("CLOUD_FILES_LOCK_DIR", raising=False)
    assert secrets.CLOUD_FILES_LOCK_DIR is None
    monkeypatch.setenv("CLOUD_FILES_LOCK_DIR", "/tmp/locks")
    assert secrets.CLOUD_FILES_LOCK_DIR == "/tmp/locks"


def test_secretpath_order(home: Path) -> None:
    name = "test-cloudfiles-unit-secret.json"
    preferred = str(home / "cv" / "secrets" / name)
    assert secrets.secretpath(name) == preferred  # nothing exists: the preferred location
    cf = cf_secret(home, name, {})
    assert secrets.secretpath(name) == str(cf)
    cv = cv_secret(home, name, {})
    assert secrets.secretpath(name) == str(cv)


# --------------------------------------------------------------------------------------------------------
# AWS
# --------------------------------------------------------------------------------------------------------


def test_aws_keys_shape_when_nothing_found() -> None:
    creds = secrets.aws_credentials("bkt")
    assert creds == {
        "AWS_ACCESS_KEY_ID": None,
        "AWS_SECRET_ACCESS_KEY": None,
        "AWS_SESSION_TOKEN": None,
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def test_aws_order_files_then_env(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA_ENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-env")
    assert secrets.aws_credentials("bkt")["AWS_ACCESS_KEY_ID"] == "AKIA_ENV"

    cf_secret(home, "aws-secret.json", AWS_A)
    assert secrets.aws_credentials("bkt")["AWS_ACCESS_KEY_ID"] == "AKIA_A"

    cf_secret(home, "bkt-aws-secret.json", AWS_B)
    creds = secrets.aws_credentials("bkt")
    assert creds["AWS_ACCESS_KEY_ID"] == "AKIA_B"
    assert creds["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert secrets.aws_credentials("other")["AWS_ACCESS_KEY_ID"] == "AKIA_A"
    assert secrets.aws_credentials()["AWS_ACCESS_KEY_ID"] == "AKIA_A"

    # The explicit override beats everything.
    override = {"AWS_ACCESS_KEY_ID": "AKIA_O", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}
    assert secrets.aws_credentials("bkt", secrets=override)["AWS_SESSION_TOKEN"] == "t"
    assert secrets.aws_credentials("bkt", secrets=json.dumps(override))["AWS_ACCESS_KEY_ID"] == "AKIA_O"

    # skip_files falls through to the environment.
    assert secrets.aws_credentials("bkt", skip_files=True)["AWS_ACCESS_KEY_ID"] == "AKIA_ENV"


def test_aws_env_without_session_token(monkeypatch: pytest.MonkeyPatch) -> None:
    # cloud-files 6.4.3 raised KeyError here (SPEC 9.3).
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA_ENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-env")
    creds = secrets.aws_credentials()
    assert creds["AWS_SESSION_TOKEN"] is None
    monkeypatch.setenv("AWS_SESSION_TOKEN", "tok")
    assert secrets.aws_credentials()["AWS_SESSION_TOKEN"] == "tok"


def test_aws_env_needs_both_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA_ENV")
    assert secrets.aws_credentials()["AWS_ACCESS_KEY_ID"] is None


def test_aws_service_alias_files(home: Path) -> None:
    cf_secret(home, "matrix-secret.json", AWS_A)
    cf_secret(home, "aws-secret.json", AWS_B)
    assert secrets.aws_credentials("b", service="matrix")["AWS_ACCESS_KEY_ID"] == "AKIA_A"
    assert secrets.aws_credentials("b", service="s3")["AWS_ACCESS_KEY_ID"] == "AKIA_B"
    cf_secret(home, "b-matrix-secret.json", AWS_B)
    assert secrets.aws_credentials("b", service="matrix")["AWS_ACCESS_KEY_ID"] == "AKIA_B"


def test_aws_shared_credentials_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(
        home / "aws" / "credentials",
        "[default]\naws_access_key_id = AKIA_SHARED\naws_secret_access_key = shh\n"
        "[other]\naws_access_key_id = AKIA_OTHER\naws_secret_access_key = shh2\naws_session_token = tk\n",
    )
    assert secrets.aws_credentials()["AWS_ACCESS_KEY_ID"] == "AKIA_SHARED"
    monkeypatch.setenv("AWS_PROFILE", "other")
    creds = secrets.aws_credentials()
    assert (creds["AWS_ACCESS_KEY_ID"], creds["AWS_SESSION_TOKEN"]) == ("AKIA_OTHER", "tk")
    assert secrets.aws_credentials(skip_files=True)["AWS_ACCESS_KEY_ID"] is None
    # Env keys come before the shared file.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA_ENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-env")
    assert secrets.aws_credentials()["AWS_ACCESS_KEY_ID"] == "AKIA_ENV"


def test_aws_region_resolution(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cf_secret(home, "aws-secret.json", AWS_A)
    assert secrets.aws_credentials()["AWS_DEFAULT_REGION"] == "us-east-1"
    _write(home / "aws" / "config", "[default]\nregion = ap-south-1\n[profile p]\nregion = sa-east-1\n")
    assert secrets.aws_credentials()["AWS_DEFAULT_REGION"] == "ap-south-1"
    monkeypatch.setenv("AWS_PROFILE", "p")
    assert secrets.aws_credentials()["AWS_DEFAULT_REGION"] == "sa-east-1"
    monkeypatch.setenv("AWS_REGION", "ca-central-1")
    assert secrets.aws_credentials()["AWS_DEFAULT_REGION"] == "ca-central-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert secrets.aws_credentials()["AWS_DEFAULT_REGION"] == "us-west-2"
    # A region named by the credential source itself wins.
    cf_secret(home, "aws-secret.json", AWS_B)
    assert secrets.aws_credentials()["AWS_DEFAULT_REGION"] == "eu-west-1"


def test_aws_malformed_shared_files_are_ignored(home: Path) -> None:
    _write(home / "aws" / "credentials", "this is [not an ini file")
    _write(home / "aws" / "config", "\x00\x01garbage")
    assert secrets.aws_credentials()["AWS_ACCESS_KEY_ID"] is None


# --------------------------------------------------------------------------------------------------------
# Google
# --------------------------------------------------------------------------------------------------------

SA_DEFAULT = {"type": "service_account", "project_id": "proj-default", "private_key": "KEY-DEFAULT"}
SA_BUCKET = {"type": "service_account", "project_id": "proj-bucket", "private_key": "KEY-BUCKET"}


def test_google_nothing_found() -> None:
    assert secrets.google_credentials("b") == (None, None)


def test_google_order(home: Path) -> None:
    cv_secret(home, "google-secret.json", SA_DEFAULT)
    assert secrets.google_credentials("b") == ("proj-default", SA_DEFAULT)
    cv_secret(home, "b-google-secret.json", SA_BUCKET)
    project, info = secrets.google_credentials("b")
    assert (project, info) == ("proj-bucket", SA_BUCKET)
    assert isinstance(info, SecretDict)
    assert secrets.google_credentials("other")[0] == "proj-default"
    assert secrets.default_google_project_name() == "proj-default"


def test_google_project_falls_back_to_default_file(home: Path) -> None:
    cv_secret(home, "google-secret.json", SA_DEFAULT)
    cv_secret(home, "b-google-secret.json", {"type": "service_account", "private_key": "K"})
    assert secrets.google_credentials("b")[0] == "proj-default"


def test_google_secrets_override(home: Path) -> None:
    cv_secret(home, "google-secret.json", SA_DEFAULT)
    assert secrets.google_credentials("b", secrets=SA_BUCKET) == ("proj-bucket", SA_BUCKET)
    assert secrets.google_credentials("b", secrets=json.dumps(SA_BUCKET))[1] == SA_BUCKET
    sentinel = object()  # e.g. a google-auth Credentials object: passed through untouched
    assert secrets.google_credentials("b", secrets=sentinel) == ("proj-default", sentinel)


# --------------------------------------------------------------------------------------------------------
# HTTP and CAVE
# --------------------------------------------------------------------------------------------------------


def test_http_credentials(home: Path) -> None:
    assert secrets.http_credentials() is None
    cf_secret(home, "http-secret.json", {"user": "u", "password": "p"})
    assert secrets.http_credentials() == ("u", "p")
    assert secrets.http_credentials({"user": "x", "password": "y"}) == ("x", "y")
    assert secrets.http_credentials('{"user": "j", "password": "k"}') == ("j", "k")
    assert secrets.http_credentials({"password": "only"}) is None


def test_cave_credentials(home: Path) -> None:
    assert secrets.cave_credentials("cave.example.org") is None
    cf_secret(home, "cave-secret.json", {"token": "T-DEFAULT"})
    assert secrets.cave_credentials("cave.example.org") == {"token": "T-DEFAULT"}
    cf_secret(home, "cave.example.org-cave-secret.json", {"token": "T-SERVER"})
    assert secrets.cave_credentials("cave.example.org") == {"token": "T-SERVER"}
    assert secrets.cave_credentials("https://cave.example.org/path") == {"token": "T-SERVER"}
    assert secrets.cave_credentials("other.org") == {"token": "T-DEFAULT"}
    assert secrets.cave_credentials("x", secrets={"token": "T-OVERRIDE"}) == {"token": "T-OVERRIDE"}
    assert secrets.cave_credentials("x", secrets={}) is None


# --------------------------------------------------------------------------------------------------------
# Never leak secrets
# --------------------------------------------------------------------------------------------------------


def test_repr_masks_values(home: Path) -> None:
    cf_secret(home, "aws-secret.json", {**AWS_A, "AWS_SESSION_TOKEN": "TOKEN-XYZ"})
    creds = secrets.aws_credentials()
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "secret-a" not in text and "TOKEN-XYZ" not in text and "AKIA_A" not in text
    assert "AWS_SECRET_ACCESS_KEY" in repr(creds)
    # Still a real dict for everything else.
    assert creds["AWS_SECRET_ACCESS_KEY"] == "secret-a"
    assert orjson.loads(orjson.dumps(creds))["AWS_SECRET_ACCESS_KEY"] == "secret-a"
    assert pickle.loads(pickle.dumps(creds)) == creds
    assert dict(**creds)["AWS_ACCESS_KEY_ID"] == "AKIA_A"


def test_invalid_secret_file_does_not_echo_contents(home: Path) -> None:
    cf_secret(home, "aws-secret.json", '{"AWS_SECRET_ACCESS_KEY": "SUPERSECRET-VALUE" oops')
    with pytest.raises(ValueError) as info:
        secrets.aws_credentials()
    assert "SUPERSECRET" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "aws-secret.json" in str(info.value)


def test_invalid_secrets_override_does_not_echo(home: Path) -> None:
    with pytest.raises(ValueError) as info:
        secrets.aws_credentials(secrets='{"AWS_SECRET_ACCESS_KEY": "SUPERSECRET-VALUE"')
    assert "SUPERSECRET" not in str(info.value)
    with pytest.raises(ValueError):
        secrets.aws_credentials(secrets="[1, 2]")
    with pytest.raises(TypeError):
        secrets.aws_credentials(secrets=42)


def test_non_object_secret_file(home: Path) -> None:
    cf_secret(home, "http-secret.json", "[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        secrets.http_credentials()


def test_empty_secret_file_is_empty_dict(home: Path) -> None:
    path = cf_secret(home, "cave-secret.json", "")
    assert secrets.load_secret_file(str(path)) == {}
    assert secrets.cave_credentials() is None


def test_unreadable_secret_file(home: Path) -> None:
    path = home / "cf" / "secrets" / "dir-secret.json"
    path.mkdir(parents=True)
    with pytest.raises(OSError, match="Unable to read secret file"):
        secrets.load_secret_file(str(path))
    assert os.path.isdir(path)
