"""What every GCS request needs: the bucket's URLs, auth headers (fresh ones for every retry and split
part, through ``Request.resign``), one resend after a 401, and metadata GETs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from ... import engine, gcs_auth
from ...quoting import quote_name
from ..base import InterfaceOptions
from ..remote import RemoteInterface
from .metadata import gcs_error

__all__ = ["GCSClient"]

# Header lines an auth source adds: replaced by fresh ones when a request is signed again.
_AUTH_PREFIXES = ("authorization:", "x-goog-user-project:")


class GCSClient(RemoteInterface):
    """A GCS bucket's URLs and authorized requests: the base of :class:`GCSInterface`."""

    def __init__(self, path: Any, options: InterfaceOptions) -> None:
        super().__init__(path, options)
        if not path.bucket:
            raise ValueError("a gs:// path needs a bucket: gs://BUCKET/path")
        self.bucket: str = path.bucket
        self.base: str = (path.path or "").strip("/")
        self.endpoint = gcs_auth.endpoint_for(options.endpoint or path.host)
        self.emulated = gcs_auth.emulator_host() is not None
        self.project, self.auth = gcs_auth.credentials_source(self.bucket, options.secrets)
        bucket = quote_name(self.bucket)
        self.object_base = f"{self.endpoint}/storage/v1/b/{bucket}/o"
        self.upload_base = f"{self.endpoint}/upload/storage/v1/b/{bucket}/o"
        self.batch_url = f"{self.endpoint}/batch/storage/v1"
        self._batch_object_path = f"/storage/v1/b/{bucket}/o"
        payer = options.request_payer
        #: "&userProject=..." (or '') appended to every query string
        self.user_project_qs = f"&userProject={quote_name(payer)}" if payer else ""
        #: send deletes as JSON batch requests (turned off if the server refuses the batch endpoint)
        self.batch_deletes = True
        #: send exists as batch requests: only on Google's own endpoint (gcp-storage-emulator answers
        #: every batched GET 404, which would read as "missing")
        self.batch_reads = self.endpoint == gcs_auth.DEFAULT_ENDPOINT
        # Does this server say how downloads are encoded? None: not known yet; False: ask metadata.
        self._reports_encoding: bool | None = None
        self.composite_threshold = int(options.composite_upload_threshold or 0)
        #: ``Request.resign`` of this interface's requests: fresh auth headers for every retry, split part
        #: and resend (None without credentials: nothing to refresh)
        self._resign: Callable[[engine.Request, list[tuple[str, str]]], list[str]] | None = (
            None if self.auth is gcs_auth.ANONYMOUS else self._fresh_headers
        )

    # -- helpers -----------------------------------------------------------------------------------
    def key(self, path: str) -> str:
        """The object name of ``path`` (relative to this CloudFiles' directory)."""
        if not isinstance(path, str):
            raise TypeError(f"key must be a str. Got: {type(path).__name__}")
        return f"{self.base}/{path}" if self.base else path

    def object_url(self, key: str) -> str:
        """The JSON API URL of the object named ``key`` (a full object name)."""
        return f"{self.object_base}/{quote_name(key)}"

    def _auth(self) -> list[str]:
        try:
            return self.auth.headers()
        except Exception as err:
            raise gcs_auth.wrap_auth_error(err) from err

    def _metadata_request(self, key: str, fields: str, context: Any) -> engine.Request:
        url = f"{self.object_url(key)}?fields={fields}{self.user_project_qs}"
        return self._request("GET", url, [], context=context)

    def _request(
        self, method: str, url: str, headers: list[str], body: Any = None, *, context: Any = None
    ) -> engine.Request:
        """A request carrying the current auth headers, then ``headers``; signed again when resent."""
        return engine.Request(
            method, url, [*self._auth(), *headers], body, context=context, resign=self._resign, signing=headers
        )

    def _fresh_headers(self, request: engine.Request, extra: list[tuple[str, str]]) -> list[str]:
        """The engine's ``Request.resign``: the current auth headers, the request's own, then ``extra``."""
        lines = [*self._auth(), *request.signing]
        if extra:
            lines += [f"{name}: {value}" for name, value in extra]
        return lines

    def _reauthorized(self, resp: engine.Response) -> engine.Response:
        """On a 401 with credentials, drop the rejected token and send the request once more."""
        if resp.error is not None or resp.status != 401 or resp.request.resign is None:
            return resp
        req = resp.request
        if req.body is not None and hasattr(req.body, "read"):
            return resp  # a consumed stream cannot be replayed here
        self.auth.invalidate([h for h in req.headers if h.lower().startswith(_AUTH_PREFIXES)])
        return self.resend(resp)

    def _metadata(self, paths: Iterable[str], fields: str) -> Iterator[tuple[str, Any, BaseException | None]]:
        """``(path, object resource or None, error)`` per path, from metadata GETs, completion order."""
        requests = (self._metadata_request(self.key(p), fields, p) for p in paths)
        for resp in self.run(requests):
            resp = self._reauthorized(resp)
            path: str = resp.context
            if resp.ok:
                yield path, orjson.loads(resp.body), None
            elif resp.error is None and resp.status == 404:
                yield path, None, None
            else:
                yield path, None, gcs_error(resp)
