"""botocore's credential chain, run once per process and profile, and how long frozen credentials
from it are reused (the signer itself is picked per request in :mod:`.client`)."""

from __future__ import annotations

from typing import Any

from ... import forksafe

__all__ = ["CREDENTIALS_REUSE"]

_CHAIN_LOCK = forksafe.new_lock()
_CHAIN: dict[str, Any] = {}
#: profile -> the error botocore's chain raised (swallowed as "no credentials", named in messages)
_CHAIN_ERRORS: dict[str, BaseException] = {}


def _botocore_chain(profile: str) -> Any:
    """botocore's resolved credentials for ``profile`` (None when the chain finds nothing), cached per
    process so the chain (which may probe an instance-metadata address) runs once. A chain that raises
    means "no credentials"; its error is kept in ``_CHAIN_ERRORS`` for the eventual error message."""
    with _CHAIN_LOCK:
        if profile in _CHAIN:
            return _CHAIN[profile]
        creds = None
        _CHAIN_ERRORS.pop(profile, None)
        try:
            import botocore.session

            session = botocore.session.Session(profile=profile if profile != "default" else None)
            creds = session.get_credentials()
        except Exception as err:  # noqa: BLE001 - no botocore, a broken profile or config: no credentials
            creds = None
            _CHAIN_ERRORS[profile] = err
        _CHAIN[profile] = creds
        return creds


#: seconds frozen refreshable credentials are reused before botocore is asked again (its
#: get_frozen_credentials costs ~11 µs, three signatures' worth; it refreshes minutes before expiry)
CREDENTIALS_REUSE = 1.0


def _reuse_seconds(creds: Any) -> float:
    """How long credentials just frozen from ``creds`` may be reused: :data:`CREDENTIALS_REUSE`, less
    when they expire sooner, 0 within a second of their expiry."""
    try:
        remaining = float(creds._seconds_remaining())  # botocore's RefreshableCredentials
    except Exception:  # noqa: BLE001 - credentials that do not expire (or another kind of object)
        return CREDENTIALS_REUSE
    return max(0.0, min(CREDENTIALS_REUSE, remaining - CREDENTIALS_REUSE))
