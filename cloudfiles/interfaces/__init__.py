"""The scheme registry: which :class:`StorageInterface` class serves each protocol.

Classes are registered by *module path* and imported on first use, so ``import cloudfiles`` never
imports pycurl, botocore or google-auth unless a CloudFiles for that scheme is actually built.
"""

from __future__ import annotations

import importlib

from .. import forksafe
from ..exceptions import UnsupportedProtocolError
from .base import StorageInterface

# protocol -> "module:ClassName". S3 aliases (matrix://, nokura://, ...) parse to protocol 's3', so
# they need no entry of their own.
_TARGETS: dict[str, str] = {
    "file": "cloudfiles.interfaces.file:FileInterface",
    "mem": "cloudfiles.interfaces.mem:MemoryInterface",
    "http": "cloudfiles.interfaces.http:HttpInterface",
    "https": "cloudfiles.interfaces.http:HttpInterface",
    "middleauth+https": "cloudfiles.interfaces.http:CaveInterface",
    "s3": "cloudfiles.interfaces.s3:S3Interface",
    "gs": "cloudfiles.interfaces.gs:GCSInterface",
}

_LOADED: dict[str, type[StorageInterface]] = {}
_LOCK = forksafe.new_lock()


def register_interface(protocol: str, target: str | type[StorageInterface]) -> None:
    """Serve ``protocol`` with ``target``: a class, or a lazily imported ``"module:ClassName"``."""
    with _LOCK:
        _LOADED.pop(protocol, None)
        if isinstance(target, str):
            _TARGETS[protocol] = target
        else:
            _TARGETS[protocol] = f"{target.__module__}:{target.__qualname__}"
            _LOADED[protocol] = target


def supported_protocols() -> list[str]:
    """Every protocol with a registered interface (whether or not its module is importable)."""
    return sorted(_TARGETS)


def get_interface_class(protocol: str) -> type[StorageInterface]:
    """The interface class for ``protocol``; imports its module on first use.

    Raises :class:`UnsupportedProtocolError` for an unknown protocol, or when the module that should
    serve it is missing or lacks the class (e.g. a scheme not built yet).
    """
    cls = _LOADED.get(protocol)
    if cls is not None:
        return cls
    target = _TARGETS.get(protocol)
    if target is None:
        raise UnsupportedProtocolError(
            f"Unsupported protocol {protocol!r}. Supported: {', '.join(supported_protocols())}."
        )
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is not None and module_name.startswith(err.name):
            raise UnsupportedProtocolError(
                f"The {protocol}:// scheme is not available in this build ({module_name} is missing)."
            ) from err
        raise UnsupportedProtocolError(
            f"The {protocol}:// scheme needs the {err.name!r} package, which is not installed."
        ) from err
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, StorageInterface)):
        raise UnsupportedProtocolError(
            f"The {protocol}:// scheme is not available in this build ({target} is missing)."
        )
    with _LOCK:
        _LOADED[protocol] = cls
    return cls


def loaded_interface_classes() -> list[type[StorageInterface]]:
    """Interface classes imported so far (used to reset their connection pools)."""
    with _LOCK:
        return list(dict.fromkeys(_LOADED.values()))


__all__ = [
    "StorageInterface",
    "get_interface_class",
    "loaded_interface_classes",
    "register_interface",
    "supported_protocols",
]
