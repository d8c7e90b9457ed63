"""What the operation mixins of :class:`~cloudfiles.cloudfiles.CloudFiles` may use of it.

Each family of public methods (reading, writing, listing, moving, naming) is a mixin in this package;
:class:`~cloudfiles.cloudfiles.CloudFiles` composes them and owns the state and plumbing (``__init__``,
the interface, progress bars, the process count, pickling). :class:`FacadeHost` is the mixins' common
base: it declares that state and plumbing for the type checker and adds nothing at run time, so a
method inherited from a mixin runs exactly as one defined on CloudFiles (no extra frame).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from ..cloudfiles import CloudFiles
    from ..interfaces.base import StorageInterface
    from ..paths import ExtractedPath
    from ..progress import Bar

#: What the facade's read methods accept: a path, a ``{'path', 'start', 'end', 'tags'}`` dict, or an
#: iterable of those.
GetPathType = Union[str, dict[str, Any], Iterable[Any]]  # noqa: UP007 (a runtime alias)
#: What ``puts`` accepts: an item (``(path, content)`` or a dict) or an iterable of items.
PutType = Any


class FacadeHost:
    """The CloudFiles state and plumbing the mixins rely on (declarations only)."""

    if TYPE_CHECKING:  # declarations only: nothing of this exists on the class at run time
        cloudpath: str
        secrets: Any
        green: bool
        consistent_shapes: bool
        _lock_dir: str | None
        _path: ExtractedPath

        @property
        def interface(self) -> StorageInterface: ...

        def _bar(self, progress: Any, total: int | None, prefix: str) -> Bar: ...

        def _effective_parallel(self, parallel: int | bool | None) -> int: ...

        def _derive(self, cloudpath: str) -> CloudFiles: ...

        def abspath(self, path: str) -> str: ...

        # what one family uses of another (writing's touch, reading's get_into)
        def exists(self, paths: str | Iterable[str], total: int | None = None, progress: Any = None) -> Any: ...


__all__ = ["FacadeHost", "GetPathType", "PutType"]
