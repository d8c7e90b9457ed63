"""Progress bars of multi-item operations: a tqdm bar, a caller's bar, or nothing."""

from __future__ import annotations

from typing import Any


class NullBar:
    """Stand-in for a disabled tqdm bar (cheaper than constructing one)."""

    def update(self, n: int = 1) -> None:
        """Count ``n`` more items (ignored)."""

    def close(self) -> None:
        """Nothing to close."""


class Bar:
    """Context manager yielding a tqdm bar (or a no-op); closes only bars it created.

    ``progress``: falsy or ``''`` for none, an object with ``update``/``close`` (a caller's tqdm,
    shared and left open), anything else for a new tqdm bar of ``total`` items labelled ``desc``.
    """

    def __init__(self, progress: Any, total: int | None, desc: str | None) -> None:
        self.bar: Any
        self.owned = False
        # isinstance first: tqdm instances define __eq__ and raise when compared with a str.
        if progress is None or progress is False or (isinstance(progress, str) and progress == ""):
            self.bar = NullBar()
        elif hasattr(progress, "update") and hasattr(progress, "close"):
            self.bar = progress  # a caller's tqdm: share it, leave it open
        else:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc)
            self.owned = True

    def __enter__(self) -> Any:
        return self.bar

    def __exit__(self, *exc: object) -> None:
        if self.owned:
            self.bar.close()


__all__ = ["Bar", "NullBar"]
