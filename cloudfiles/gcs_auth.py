"""Google Cloud Storage credentials: which ones, and bearer-token headers kept fresh off the hot path.

google-auth is used only to obtain and refresh credentials; its HTTP calls (token endpoint, metadata
server) go through our engine via :class:`EngineTransport`, so no ``requests`` dependency and the same
timeouts as every other transfer.

Order (SPEC 2.3): ``secrets=`` (dict / JSON string of service-account or authorized-user info, or a
google-auth Credentials object) -> ``{bucket}-google-secret.json`` -> ``google-secret.json`` ->
Application Default Credentials. When ``STORAGE_EMULATOR_HOST`` is set (the variable Google's own
clients honour), requests go to that endpoint anonymously: no credentials are looked up at all.

Per request, the interface calls :meth:`TokenSource.headers`, which returns a cached list of header
strings after one clock comparison. The token is refreshed when less than :data:`REFRESH_MARGIN`
seconds remain (or half its lifetime, for short-lived tokens), by exactly one thread: the others keep
using the still-valid token meanwhile, and only wait when it has actually expired. Sources are shared
per credential identity, so every CloudFiles on the same service account shares one token.
"""

from __future__ import annotations

import datetime
import os
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from . import engine, forksafe
from .exceptions import AuthorizationError, CloudFilesError, NetworkError
from .retry import Retry, Timeout

__all__ = [
    "ANONYMOUS",
    "DEFAULT_ENDPOINT",
    "REFRESH_MARGIN",
    "SCOPES",
    "AnonymousSource",
    "EngineTransport",
    "HeaderSource",
    "TokenSource",
    "credentials_source",
    "describe_error",
    "emulator_host",
    "endpoint_for",
]

DEFAULT_ENDPOINT = "https://storage.googleapis.com"
SCOPES: tuple[str, ...] = ("https://www.googleapis.com/auth/devstorage.full_control",)
#: refresh a token once fewer than this many seconds of its life remain
REFRESH_MARGIN = 300.0
# Hosts of the GCE metadata server (google-auth's defaults and its override variables).
_METADATA_HOSTS = frozenset({"metadata.google.internal", "169.254.169.254", "metadata"})


def emulator_host() -> str | None:
    """The endpoint named by ``STORAGE_EMULATOR_HOST`` (scheme added if missing), or None."""
    value = (os.environ.get("STORAGE_EMULATOR_HOST") or "").strip()
    if not value:
        return None
    if "://" not in value:
        value = "http://" + value
    return value.rstrip("/")


def endpoint_for(override: str | None = None) -> str:
    """Where JSON API requests go: ``STORAGE_EMULATOR_HOST``, else ``override``, else Google's."""
    return emulator_host() or (override.rstrip("/") if override else DEFAULT_ENDPOINT)


def _no_gce_check() -> bool:
    # google-auth only honours the exact lower-case "true"; the documented setting here is "True".
    return (os.environ.get("NO_GCE_CHECK") or "").strip().lower() in ("true", "1", "yes")


class HeaderSource(Protocol):
    """Anything that gives the authorization headers of the next request."""

    def headers(self) -> list[str]: ...

    def invalidate(self, used: list[str] | None = None) -> None: ...


class AnonymousSource:
    """No credentials: an emulator, or a public bucket."""

    def headers(self) -> list[str]:
        return []

    def invalidate(self, used: list[str] | None = None) -> None:
        pass

    def __repr__(self) -> str:
        return "AnonymousSource()"


ANONYMOUS = AnonymousSource()


# -- the transport google-auth uses ---------------------------------------------------------------------
class _AuthResponse:
    """google.auth.transport.Response over an engine Response."""

    def __init__(self, response: engine.Response) -> None:
        self.status = response.status
        self.headers = response.headers
        self.data = response.body


class EngineTransport:
    """A ``google.auth.transport.Request`` that sends through the cloudfiles engine.

    With ``NO_GCE_CHECK`` set to any spelling of true, requests to the GCE metadata server are refused
    (google-auth itself only honours the exact lower-case "true"), so credential discovery never sends
    a packet to it.
    """

    retry = Retry(attempts=3, base=0.2, cap=2.0, budget=10.0)

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _AuthResponse:
        from google.auth import exceptions as gexc

        host = (urlsplit(url).hostname or "").lower()
        blocked = _METADATA_HOSTS | {
            h.lower() for h in (os.environ.get("GCE_METADATA_HOST"), os.environ.get("GCE_METADATA_IP")) if h
        }
        if _no_gce_check() and host in blocked:
            raise gexc.TransportError(  # type: ignore[no-untyped-call]
                f"NO_GCE_CHECK is set: not contacting the metadata server {host}"
            )
        if isinstance(body, str):
            body = body.encode("utf-8")
        lines = [f"{name}: {value}" for name, value in (headers or {}).items()]
        limit = Timeout(connect=min(10.0, timeout or 10.0), read=max(1.0, float(timeout or 30.0)))
        from .interfaces.remote import CA_BUNDLE_ENV, ca_options

        response = engine.request_one(
            engine.Request(method, url, lines, body, options=ca_options(CA_BUNDLE_ENV)), retry=self.retry, timeout=limit
        )
        if response.error is not None:
            raise gexc.TransportError(str(response.error)) from response.error  # type: ignore[no-untyped-call]
        return _AuthResponse(response)


# -- tokens ---------------------------------------------------------------------------------------------
def _epoch(expiry: Any) -> float | None:
    """google-auth expiries are naive UTC datetimes; None means 'does not expire'."""
    if expiry is None:
        return None
    if isinstance(expiry, datetime.datetime):
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=datetime.timezone.utc)
        return float(expiry.timestamp())
    return float(expiry)


class TokenSource:
    """Bearer-token headers for one google-auth Credentials object, refreshed ahead of expiry.

    ``headers()`` is the only call on the request path: one tuple read and one clock comparison while
    the token is fresh. The refresh itself runs under a lock, in the first thread that finds the token
    due; threads arriving meanwhile reuse the current token as long as it has not expired.
    """

    def __init__(
        self,
        credentials: Any,
        *,
        margin: float = REFRESH_MARGIN,
        transport: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.credentials = credentials
        self.margin = margin
        self._transport = transport
        self._clock = clock
        self._lock = forksafe.new_lock()
        # (refresh_at, expires_at, headers); None until the first token.
        self._cached: tuple[float, float, list[str]] | None = None
        self._stale = False  # the server rejected the current token
        #: how many times the credentials were refreshed (for tests and diagnostics)
        self.refreshes = 0

    def headers(self) -> list[str]:
        """Authorization headers as ``"Name: value"`` strings for the next request."""
        cached = self._cached
        if cached is not None and self._clock() < cached[0]:
            return cached[2]
        return self._refresh_or_wait()

    def invalidate(self, used: list[str] | None = None) -> None:
        """The server rejected the token (a 401): the next ``headers()`` refreshes the credentials.

        ``used`` is the header list the rejected request carried; when the current token is already a
        newer one (another request hit the 401 first and refreshed), nothing happens, so a burst of 401s
        costs one refresh.
        """
        with self._lock:
            cached = self._cached
            if used is not None and cached is not None and cached[2] != used:
                return
            self._cached = None
            self._stale = True

    def _refresh_or_wait(self) -> list[str]:
        cached = self._cached
        if cached is not None and self._clock() < cached[1]:
            # Due but still valid: refresh only if nobody else is; never make this request wait.
            if not self._lock.acquire(blocking=False):
                return cached[2]
        else:
            self._lock.acquire()
        try:
            cached = self._cached
            if cached is not None and self._clock() < cached[0]:
                return cached[2]  # another thread refreshed while we waited for the lock
            return self._refresh_locked()
        finally:
            self._lock.release()

    def _refresh_locked(self) -> list[str]:
        creds = self.credentials
        now = self._clock()
        expires = _epoch(getattr(creds, "expiry", None))
        token = getattr(creds, "token", None)
        if self._stale or not token or (expires is not None and expires - now < self.margin):
            still_valid = not self._stale and bool(token) and (expires is None or now < expires)
            self._stale = False
            self._call_refresh(creds, still_valid=still_valid)
            self.refreshes += 1
            now = self._clock()
            expires = _epoch(getattr(creds, "expiry", None))
        headers: dict[str, str] = {}
        creds.apply(headers)
        lines = [f"{name}: {value}" for name, value in headers.items()]
        if expires is None:
            refresh_at = expires_at = float("inf")
        else:
            # Refresh `margin` before expiry, but never sooner than halfway through a short-lived
            # token's remaining life (else a 4-minute token would be refreshed on every request).
            refresh_at = max(expires - self.margin, now + (expires - now) / 2)
            expires_at = expires
        self._cached = (refresh_at, expires_at, lines)
        return lines

    def _call_refresh(self, creds: Any, still_valid: bool) -> None:
        from google.auth import exceptions as gexc

        try:
            creds.refresh(self._transport if self._transport is not None else _default_transport())
        except gexc.RefreshError as err:
            if still_valid:
                return  # keep using the current token until it really expires
            raise AuthorizationError(f"could not refresh Google credentials ({describe_error(err)})") from None
        except gexc.TransportError as err:
            if still_valid:
                return
            raise NetworkError(f"could not reach the Google token endpoint ({describe_error(err)})") from None
        except gexc.GoogleAuthError as err:
            raise AuthorizationError(f"Google credentials failed ({describe_error(err)})") from None

    def __repr__(self) -> str:
        return f"TokenSource({type(self.credentials).__name__}, refreshes={self.refreshes})"


class _DefaultCredentialsSource:
    """Application Default Credentials, discovered on first use (discovery may touch the network)."""

    def __init__(self) -> None:
        self._lock = forksafe.new_lock()
        self._source: TokenSource | None = None
        self.project: str | None = None

    def _resolve(self) -> TokenSource:
        with self._lock:
            if self._source is None:
                import google.auth
                from google.auth import exceptions as gexc

                try:
                    transport: Any = _default_transport()
                    creds, project = google.auth.default(scopes=list(SCOPES), request=transport)
                except gexc.DefaultCredentialsError as err:
                    raise AuthorizationError(
                        "No usable Google credentials: pass secrets=, put google-secret.json in a secrets "
                        f"directory, or set up Application Default Credentials ({describe_error(err)})"
                    ) from None
                self.project = project
                self._source = TokenSource(creds)
            return self._source

    def headers(self) -> list[str]:
        source = self._source
        return (source if source is not None else self._resolve()).headers()

    def invalidate(self, used: list[str] | None = None) -> None:
        if self._source is not None:
            self._source.invalidate(used)


_transport_singleton: EngineTransport | None = None


def _default_transport() -> EngineTransport:
    global _transport_singleton
    if _transport_singleton is None:
        _transport_singleton = EngineTransport()
    return _transport_singleton


# Sources shared per credential identity: one token (and one refresh) per service account.
_SOURCES: dict[tuple[Any, ...], HeaderSource] = {}
_OBJECT_SOURCES: weakref.WeakKeyDictionary[Any, TokenSource] = weakref.WeakKeyDictionary()
_SOURCES_LOCK = forksafe.new_lock()


def _from_info(info: Mapping[str, Any]) -> Any:
    """google-auth credentials from service-account or authorized-user info (the two secret-file kinds).

    Other kinds (external accounts, impersonation) execute or fetch things named inside the file, so
    they are only accepted as a Credentials object the caller built on purpose.
    """
    kind = info.get("type", "service_account")
    try:
        if kind == "service_account":
            from google.oauth2 import service_account

            return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                dict(info), scopes=list(SCOPES)
            )
        if kind == "authorized_user":
            from google.oauth2 import credentials as user_credentials

            return user_credentials.Credentials.from_authorized_user_info(  # type: ignore[no-untyped-call]
                dict(info), scopes=list(SCOPES)
            )
    except (ValueError, KeyError) as err:  # a malformed key or a missing field
        raise AuthorizationError(f"invalid Google {kind} credentials ({describe_error(err)})") from None
    raise AuthorizationError(
        f"Google credentials of type {kind!r} are not read from secrets; build the google-auth "
        "Credentials yourself and pass them as secrets="
    )


def _info_key(info: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        "info",
        info.get("type"),
        info.get("client_email") or info.get("client_id"),
        info.get("private_key_id") or info.get("refresh_token"),
        info.get("token_uri"),
    )


def credentials_source(bucket: str = "", secrets: Any = None) -> tuple[str | None, HeaderSource]:
    """``(project_id, header source)`` for a bucket, in the documented order.

    With ``STORAGE_EMULATOR_HOST`` set: ``(None, ANONYMOUS)`` without looking anything up. A google-auth
    Credentials object (anything with ``refresh`` and ``apply``) in ``secrets`` is used as given.
    """
    if emulator_host():
        return None, ANONYMOUS
    if secrets is not None and not isinstance(secrets, (str, bytes, Mapping)):
        if not (hasattr(secrets, "refresh") and hasattr(secrets, "apply")):
            raise TypeError(
                "gs secrets must be a dict, a JSON string or google-auth Credentials. "
                f"Got: {type(secrets).__name__}"
            )
        with _SOURCES_LOCK:
            try:
                source = _OBJECT_SOURCES.get(secrets)
                if source is None:
                    source = _OBJECT_SOURCES[secrets] = TokenSource(secrets)
            except TypeError:  # not weak-referenceable: a source of its own
                source = TokenSource(secrets)
        return getattr(secrets, "project_id", None) or getattr(secrets, "quota_project_id", None), source

    from .secrets import google_credentials

    project, info = google_credentials(bucket, secrets)
    if info is None:
        with _SOURCES_LOCK:
            adc = _SOURCES.get(("adc",))
            if adc is None:
                adc = _SOURCES[("adc",)] = _DefaultCredentialsSource()
        return project, adc
    key = _info_key(info)
    with _SOURCES_LOCK:
        found = _SOURCES.get(key)
        if found is None:
            found = _SOURCES[key] = TokenSource(_from_info(info))
    return project, found


def reset_sources() -> None:
    """Forget every shared token source (tests; ``reset_connection_pools``)."""
    with _SOURCES_LOCK:
        _SOURCES.clear()
        _OBJECT_SOURCES.clear()


def describe_error(err: BaseException) -> str:
    """``Type: message`` of an error google-auth raised, and of the errors it wrapped (its ``__cause__``
    chain): the exceptions are not chained to ours, so the message is where they stay visible."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen and len(parts) < 4:
        seen.add(id(current))
        args = current.args
        # google-auth errors often carry (message, cause) in args: the message alone reads better.
        text = str(args[0]) if len(args) > 1 and isinstance(args[0], str) else str(current)
        parts.append(f"{type(current).__name__}: {text}" if text else type(current).__name__)
        current = current.__cause__ or current.__context__
    return "; caused by ".join(parts)


def wrap_auth_error(err: BaseException) -> CloudFilesError:
    """A CloudFilesError for an exception raised while getting a token."""
    if isinstance(err, CloudFilesError):
        return err
    return AuthorizationError(f"Google credentials failed ({describe_error(err)})")
