"""Credential discovery, in the documented order, as pure functions over files and environment variables.

Nothing here opens a network connection or builds a client object: each function returns plain data
(dicts, tuples) that the scheme interfaces turn into signed requests or google-auth credentials.

Secret files live in, first match wins (``secretpath``):

1. ``$CLOUD_VOLUME_DIR/secrets/NAME``  (default ``~/.cloudvolume/secrets``)
2. ``/NAME``                           (legacy: filesystem root)
3. ``$CLOUD_FILES_DIR/secrets/NAME``   (default ``~/.cloudfiles/secrets``)

Environment variables are read at call time, so a test (or a long-lived process) can change them.
``CLOUD_FILES_DIR`` and ``CLOUD_VOLUME_DIR`` are module attributes computed on each access.

Secret values never appear in a repr or an exception message: returned dicts are :class:`SecretDict`
(a ``dict`` whose repr masks values), and parse errors name the file, never its contents.

cloud-files' module names are all here. Its directory constants (``CV_HOME``, ``CF_HOME``,
``google_credentials_path``, ``PROJECT_NAME``...) are computed on access like the ones above. Its
credential caches (``GOOGLE_CREDENTIALS_CACHE``, ``AWS_CREDENTIALS_CACHE``, ``CAVE_CREDENTIALS``,
``HTTP_CREDENTIALS``) hold what the last lookups returned, keyed as in cloud-files; lookups never read
them (they always re-read files and the environment, so a rotated secret is picked up), which makes
clearing them harmless. Two results keep our shape, used by the scheme interfaces: ``google_credentials``
returns the service-account info dict (cloud-files: a google-auth Credentials object, built here by the
GCS interface) and ``http_credentials`` returns ``(user, password)`` (cloud-files: the JSON dict).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, Union, cast

import orjson

from .lib import colorize, mkdir

__all__ = [
    "AWS_CREDENTIALS_CACHE",
    "AWS_KEYS",
    "CAVE_CREDENTIALS",
    "CF_HOME",  # noqa: F822 - provided by the module __getattr__
    "CLOUD_FILES_DIR",  # noqa: F822 - provided by the module __getattr__
    "CLOUD_FILES_LOCK_DIR",  # noqa: F822
    "CLOUD_FILES_SECRETS_DIR",  # noqa: F822
    "CLOUD_VOLUME_DIR",  # noqa: F822
    "CLOUD_VOLUME_SECRETS_DIR",  # noqa: F822
    "CV_HOME",  # noqa: F822
    "GOOGLE_CREDENTIALS_CACHE",
    "HOME",  # noqa: F822
    "HTTP_CREDENTIALS",
    "PROJECT_NAME",  # noqa: F822
    "CredentialCacheType",
    "CredentialType",
    "SecretDict",
    "aws_credentials",
    "aws_credentials_path",  # noqa: F822
    "cave_credentials",
    "cloud_files_dir",
    "cloud_files_lock_dir",
    "cloud_volume_dir",
    "colorize",
    "default_google_project_name",
    "google_credentials",
    "google_credentials_path",  # noqa: F822
    "http_credentials",
    "load_secret_file",
    "mkdir",
    "parse_secrets",
    "secretpath",
]

AWS_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION")
DEFAULT_AWS_REGION = "us-east-1"


class SecretDict(dict[str, Any]):
    """A plain ``dict`` whose repr shows the keys but masks every value.

    Equality, pickling, ``json``/``orjson`` serialisation and ``**`` unpacking behave as for ``dict``;
    only printing (logs, tracebacks with locals, REPL echo) is redacted.
    """

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: {'None' if v is None else '***'}" for k, v in self.items()) + "}"

    __str__ = __repr__


# ---------------------------------------------------------------------------------------------------------
# Directories
# ---------------------------------------------------------------------------------------------------------


def cloud_files_dir() -> str:
    """``$CLOUD_FILES_DIR`` or ``~/.cloudfiles`` (aliases.json, locks/ and secrets/ live here)."""
    return os.environ.get("CLOUD_FILES_DIR") or os.path.join(os.path.expanduser("~"), ".cloudfiles")


def cloud_volume_dir() -> str:
    """``$CLOUD_VOLUME_DIR`` or ``~/.cloudvolume`` (its secrets/ subdirectory is searched first)."""
    return os.environ.get("CLOUD_VOLUME_DIR") or os.path.join(os.path.expanduser("~"), ".cloudvolume")


def cloud_files_lock_dir() -> str | None:
    """``$CLOUD_FILES_LOCK_DIR`` or None (CloudFiles then uses ``$CLOUD_FILES_DIR/locks``)."""
    return os.environ.get("CLOUD_FILES_LOCK_DIR") or None


_DYNAMIC: dict[str, Any] = {
    "CLOUD_FILES_DIR": cloud_files_dir,
    "CLOUD_VOLUME_DIR": cloud_volume_dir,
    "CLOUD_FILES_SECRETS_DIR": lambda: os.path.join(cloud_files_dir(), "secrets"),
    "CLOUD_VOLUME_SECRETS_DIR": lambda: os.path.join(cloud_volume_dir(), "secrets"),
    "CLOUD_FILES_LOCK_DIR": cloud_files_lock_dir,
    "HOME": lambda: os.path.expanduser("~"),
    # cloud-files' names for the default directories (before the environment variables apply)
    "CV_HOME": lambda: os.path.join(os.path.expanduser("~"), ".cloudvolume"),
    "CF_HOME": lambda: os.path.join(os.path.expanduser("~"), ".cloudfiles"),
    "google_credentials_path": lambda: secretpath("google-secret.json"),
    "aws_credentials_path": lambda: secretpath("aws-secret.json"),
    "PROJECT_NAME": lambda: default_google_project_name(),
}


def __getattr__(name: str) -> Any:
    # Module attributes that follow the environment at access time (PEP 562), so
    # ``secrets.CLOUD_FILES_DIR`` is always current (``from .. import`` takes a snapshot).
    fn = _DYNAMIC.get(name)
    if fn is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return fn()


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_DYNAMIC))


# cloud-files' type names for credential dicts and its per-key caches of them.
CredentialType = dict[str, Union[str, int]]  # noqa: UP007 - a runtime alias
CredentialCacheType = dict[str, CredentialType]

#: ``{bucket: (project, service_account_info)}`` of the GCS lookups that found a secret file.
GOOGLE_CREDENTIALS_CACHE: dict[str, Any] = {}
#: ``{service: {bucket: credentials}}`` of the S3 lookups.
AWS_CREDENTIALS_CACHE: defaultdict[str, dict[str, Any]] = defaultdict(dict)
#: ``{server: credentials}`` of the CAVE lookups that found a token.
CAVE_CREDENTIALS: dict[str, Any] = {}
#: The secret-file HTTP credentials of the last lookup that read ``http-secret.json`` (a dict), or None.
HTTP_CREDENTIALS: dict[str, Any] | None = None


def secretpath(filepath: str) -> str:
    """Where the secret file ``filepath`` is: the first existing of the three locations, else the first.

    Order: ``$CLOUD_VOLUME_DIR/secrets``, ``/`` (legacy), ``$CLOUD_FILES_DIR/secrets``.
    """
    preferred = os.path.join(cloud_volume_dir(), "secrets", filepath)
    candidates = (
        preferred,
        os.path.join("/", filepath),
        os.path.join(cloud_files_dir(), "secrets", filepath),
    )
    for path in candidates:
        if os.path.exists(path):
            return path
    return preferred


# ---------------------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------------------


def parse_secrets(secrets: Any, what: str = "secrets") -> SecretDict | None:
    """Normalise an explicit ``secrets`` override: a dict or a JSON string -> SecretDict; None -> None.

    Raises ValueError (without echoing the text) for a string that is not a JSON object, and TypeError
    for other types.
    """
    if secrets is None:
        return None
    if isinstance(secrets, (str, bytes)):
        try:
            value = orjson.loads(secrets)
        except orjson.JSONDecodeError:
            raise ValueError(f"{what}: the string given is not valid JSON.") from None
        if not isinstance(value, dict):
            raise ValueError(f"{what}: the JSON given must be an object.")
        return SecretDict(value)
    if isinstance(secrets, Mapping):
        return SecretDict(secrets)
    raise TypeError(f"{what} must be a dict or a JSON string. Got: {type(secrets).__name__}")


def load_secret_file(path: str) -> SecretDict:
    """Read a JSON secret file as a SecretDict. Errors name the file but never show its contents."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise OSError(err.errno, f"Unable to read secret file {path}: {err.strerror}") from None
    try:
        value = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        raise ValueError(f"Secret file {path} is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ValueError(f"Secret file {path} must contain a JSON object.")
    return SecretDict(value)


def _first_existing(names: list[str]) -> str | None:
    for name in names:
        path = secretpath(name)
        if os.path.exists(path):
            return path
    return None


# ---------------------------------------------------------------------------------------------------------
# Google Cloud Storage
# ---------------------------------------------------------------------------------------------------------


def default_google_project_name() -> str | None:
    """``project_id`` of the default ``google-secret.json``, or None."""
    path = _first_existing(["google-secret.json"])
    if path is None:
        return None
    project = load_secret_file(path).get("project_id")
    return str(project) if project is not None else None


def google_credentials(bucket: str = "", secrets: Any = None) -> tuple[str | None, Any]:
    """GCS credentials as ``(project_id, service_account_info)``.

    Order: ``secrets`` override (dict / JSON string; any other object, e.g. a google-auth Credentials,
    is passed through unchanged) -> ``{bucket}-google-secret.json`` -> ``google-secret.json`` ->
    ``(default project or None, None)``, meaning "use Application Default Credentials".

    The info dict is what ``google.oauth2.service_account.Credentials.from_service_account_info``
    takes; the GCS interface builds the credentials object. The project is the ``project_id`` of the
    source used, else that of the default ``google-secret.json``, else None.
    """
    if secrets is not None:
        if isinstance(secrets, (str, bytes, Mapping)):
            info = cast(SecretDict, parse_secrets(secrets, "google secrets"))  # not None: secrets is not
            project = info.get("project_id")
            return (str(project) if project else default_google_project_name()), info
        return default_google_project_name(), secrets

    names = ["google-secret.json"]
    if bucket:
        names.insert(0, f"{bucket}-google-secret.json")
    path = _first_existing(names)
    if path is None:
        GOOGLE_CREDENTIALS_CACHE.pop(bucket, None)
        return default_google_project_name(), None
    info = load_secret_file(path)
    project = info.get("project_id")
    found = (str(project) if project else default_google_project_name()), info
    GOOGLE_CREDENTIALS_CACHE[bucket] = found
    return found


# ---------------------------------------------------------------------------------------------------------
# S3 and S3-compatible services
# ---------------------------------------------------------------------------------------------------------


def _aws_dict(source: Mapping[str, Any]) -> SecretDict:
    return SecretDict({key: source.get(key) for key in AWS_KEYS})


def _read_ini_section(path: str, section: str) -> dict[str, str]:
    import configparser

    parser = configparser.RawConfigParser()
    try:
        parser.read(path)
    except (configparser.Error, OSError, UnicodeDecodeError):
        # A malformed ~/.aws file must not break cloudfiles; treat it as absent.
        return {}
    if not parser.has_section(section):
        return {}
    return dict(parser.items(section))


def _aws_profile() -> str:
    return os.environ.get("AWS_PROFILE") or os.environ.get("AWS_DEFAULT_PROFILE") or "default"


def _aws_shared_credentials() -> dict[str, str]:
    path = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.join(
        os.path.expanduser("~"), ".aws", "credentials"
    )
    if not os.path.exists(path):
        return {}
    return _read_ini_section(path, _aws_profile())


def _aws_config_region() -> str | None:
    path = os.environ.get("AWS_CONFIG_FILE") or os.path.join(os.path.expanduser("~"), ".aws", "config")
    if not os.path.exists(path):
        return None
    profile = _aws_profile()
    section = "default" if profile == "default" else f"profile {profile}"
    return _read_ini_section(path, section).get("region") or None


def _default_region() -> str:
    return (
        os.environ.get("AWS_DEFAULT_REGION")
        or os.environ.get("AWS_REGION")
        or _aws_config_region()
        or DEFAULT_AWS_REGION
    )


def aws_credentials(
    bucket: str = "", service: str = "aws", skip_files: bool = False, secrets: Any = None
) -> SecretDict:
    """S3 credentials as a dict with exactly the keys ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
    ``AWS_SESSION_TOKEN`` (may be None) and ``AWS_DEFAULT_REGION``.

    ``service`` is ``'aws'`` for s3:// (``'s3'`` is accepted as a synonym) or the alias name for an
    alias (``matrix`` -> ``matrix-secret.json``). Order, first hit wins:

    1. ``secrets`` override (dict or JSON string);
    2. ``{bucket}-{service}-secret.json``, then ``{service}-secret.json`` (skipped if ``skip_files``);
    3. env ``AWS_ACCESS_KEY_ID`` + ``AWS_SECRET_ACCESS_KEY`` (+ optional ``AWS_SESSION_TOKEN``);
    4. the shared credentials file (``$AWS_SHARED_CREDENTIALS_FILE`` or ``~/.aws/credentials``,
       profile ``$AWS_PROFILE`` or ``default``; skipped if ``skip_files``);
    5. nothing: both keys None (the interface may then try instance metadata or go unsigned).

    The region is the source's own if it names one, else ``$AWS_DEFAULT_REGION`` / ``$AWS_REGION``,
    else the profile's region in ``~/.aws/config``, else ``us-east-1``. Unlike cloud-files, env
    credentials without a session token work, and the ~/.aws/config region is honoured.
    """
    if service == "s3":
        service = "aws"

    found: Mapping[str, Any] | None = parse_secrets(secrets, "aws secrets")

    if found is None and not skip_files:
        names = [f"{service}-secret.json"]
        if bucket:
            names.insert(0, f"{bucket}-{service}-secret.json")
        path = _first_existing(names)
        if path is not None:
            found = load_secret_file(path)

    if found is None and os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        found = {
            "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
            "AWS_SESSION_TOKEN": os.environ.get("AWS_SESSION_TOKEN") or None,
        }

    if found is None and not skip_files:
        shared = _aws_shared_credentials()
        if shared.get("aws_access_key_id") and shared.get("aws_secret_access_key"):
            found = {
                "AWS_ACCESS_KEY_ID": shared["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": shared["aws_secret_access_key"],
                "AWS_SESSION_TOKEN": shared.get("aws_session_token") or None,
                "AWS_DEFAULT_REGION": shared.get("region") or None,
            }

    creds = _aws_dict(found or {})
    if not creds["AWS_DEFAULT_REGION"]:
        creds["AWS_DEFAULT_REGION"] = _default_region()
    if secrets is None:
        AWS_CREDENTIALS_CACHE[service][bucket] = creds
    return creds


# ---------------------------------------------------------------------------------------------------------
# HTTP basic auth and CAVE (middleauth+https)
# ---------------------------------------------------------------------------------------------------------


def http_credentials(secrets: Any = None) -> tuple[str, str] | None:
    """HTTP basic-auth ``(user, password)`` from the ``secrets`` override or ``http-secret.json``.

    Returns None when neither gives a user (requests then go unauthenticated).
    """
    global HTTP_CREDENTIALS
    found = parse_secrets(secrets, "http secrets")
    if found is None:
        path = _first_existing(["http-secret.json"])
        HTTP_CREDENTIALS = None if path is None else load_secret_file(path)
        if HTTP_CREDENTIALS is None:
            return None
        found = HTTP_CREDENTIALS
    user = found.get("user", found.get("username"))
    if user is None:
        return None
    password = found.get("password", "")
    return str(user), "" if password is None else str(password)


def cave_credentials(server: str = "", secrets: Any = None) -> SecretDict | None:
    """CAVE (``middleauth+https``) credentials: a dict holding at least ``token``, or None.

    Order: ``secrets`` override (dict/JSON with ``token``; cloud-files ignored it, we honour it) ->
    ``{server}-cave-secret.json`` -> ``cave-secret.json``. ``server`` is the host name (a scheme or
    path is stripped). The interface sends ``Authorization: Bearer <token>``.
    """
    found = parse_secrets(secrets, "cave secrets")
    if found is not None:
        return found if found.get("token") else None

    names = ["cave-secret.json"]
    host = server.split("://", 1)[-1].split("/", 1)[0] if server else ""
    if host:
        names.insert(0, f"{host}-cave-secret.json")
    path = _first_existing(names)
    data = None if path is None else load_secret_file(path)
    if data is None or not data.get("token"):
        CAVE_CREDENTIALS.pop(server, None)
        return None
    CAVE_CREDENTIALS[server] = data
    return data
