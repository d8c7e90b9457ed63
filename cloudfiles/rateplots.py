"""Charts of transfer rates for :mod:`cloudfiles.monitoring` (matplotlib, imported only when drawing).

Each function saves to ``filename`` or, without one, shows the figure; either way every figure is
closed afterwards, so repeated plotting in a long-lived process does not accumulate figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["RateSeries", "human_bytes", "plot_gantt", "plot_rates", "rate_units"]

#: One curve of :func:`plot_rates`: (bits per second per bin, colour, legend label or None).
RateSeries = tuple["npt.NDArray[np.float64]", str, "str | None"]


def rate_units(peak_bps: float) -> tuple[str, float]:
    """The axis unit for rates peaking at ``peak_bps`` and the divisor that converts to it."""
    if peak_bps < 1e3:
        return "bps", 1.0
    if peak_bps < 1e6:
        return "Kbps", 1e3
    if peak_bps < 1e9:
        return "Mbps", 1e6
    return "Gbps", 1e9


def human_bytes(x: int) -> str:
    """A byte count in decimal units for bar labels: ``1500 -> '1.50 kB'``."""
    if x < 1000:
        return f"{x} B"
    for factor, unit in ((1e15, "PB"), (1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if x >= factor:
            return f"{x / factor:.2f} {unit}"
    return f"{x} B"  # pragma: no cover


def _finish(filename: str | None) -> None:
    import matplotlib.pyplot as plt

    plt.tight_layout()
    if filename is not None:
        plt.savefig(filename)
    else:
        plt.show()
    plt.close("all")


def plot_rates(series: Sequence[RateSeries], resolution: float, title: str, filename: str | None) -> None:
    """Filled line plots of rates per ``resolution``-second bin, in a unit fitted to the highest one."""
    import matplotlib.pyplot as plt
    import numpy as np

    peak = max((float(values.max()) for values, _, _ in series if values.size), default=0.0)
    ylabel, factor = rate_units(peak)
    plt.figure(figsize=(10, 6))
    for values, color, label in series:
        scaled = values / factor
        x_values = np.arange(len(scaled)) * resolution
        plt.plot(x_values, scaled, color=color, linestyle="-", linewidth=1.5, label=label, alpha=0.8)
        plt.fill_between(x_values, 0, scaled, color=color, alpha=0.4)
    if any(label is not None for _, _, label in series):
        plt.legend()
    plt.title(title)
    plt.xlabel("Time (seconds)")
    plt.ylabel(ylabel)
    plt.grid(axis="y", linestyle="--", alpha=0.7)
    _finish(filename)


def plot_gantt(
    begin_us: Sequence[int],
    end_us: Sequence[int],
    sizes: Sequence[int],
    failed: Sequence[bool],
    *,
    title: str,
    show_size_labels: bool | None,
    filename: str | None,
) -> None:
    """One horizontal bar per flight (microsecond times), coloured by size; failed flights red."""
    import matplotlib.colors as colors
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable

    start = min(begin_us) / 1e6 if begin_us else 0.0
    if show_size_labels is None:
        show_size_labels = len(sizes) < 40
    lo, hi = (min(sizes), max(sizes)) if sizes else (0, 0)
    norm = colors.Normalize(vmin=0, vmax=hi * 1.1 or 1) if lo == hi else colors.Normalize(lo, hi)
    cmap = plt.get_cmap("viridis")

    _fig, ax = plt.subplots(figsize=(10, 5))
    order = sorted(range(len(begin_us)), key=lambda i: begin_us[i])
    for row, i in enumerate(order):
        duration = (end_us[i] - begin_us[i]) / 1e6
        left = begin_us[i] / 1e6 - start
        cval = float(norm(sizes[i]))
        color = "red" if failed[i] else cmap(cval)
        ax.barh(row, width=duration, left=left, height=1, color=color)
        if show_size_labels:
            ax.text(
                x=left + duration / 2,
                y=row,
                s=human_bytes(int(sizes[i])),
                ha="center",
                va="center",
                color="black" if cval > 0.5 else "0.8",
                fontsize=8,
            )
    sm = ScalarMappable(cmap=cmap, norm=norm)
    sm.set_array([])
    plt.colorbar(sm, ax=ax, label="File Size (bytes)")
    plt.xlabel("Time (seconds)")
    plt.ylabel("Files in Flight")
    ax.set_yticks([])
    plt.title(title)
    _finish(filename)
