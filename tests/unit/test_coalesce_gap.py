"""The coalescing gap knob: ``CloudFiles(coalesce_gap=...)``, ``$CLOUDFILES_COALESCE_GAP``, the default."""

from __future__ import annotations

import pytest

from cloudfiles import CloudFiles
from cloudfiles.coalesce import GAP_ENV, MAX_GAP, max_gap_for, plan_ranges


def test_default_then_environment_then_option() -> None:
    assert max_gap_for(None, {}) == MAX_GAP
    assert max_gap_for(None, {GAP_ENV: " 4096 "}) == 4096
    assert max_gap_for(None, {GAP_ENV: ""}) == MAX_GAP
    assert max_gap_for(0, {GAP_ENV: "4096"}) == 0  # the option wins
    assert max_gap_for(1 << 20, {}) == 1 << 20


@pytest.mark.parametrize("bad", ["-1", "1MiB", "1.5"])
def test_bad_environment_values_are_named(bad: str) -> None:
    with pytest.raises(ValueError, match=GAP_ENV):
        max_gap_for(None, {GAP_ENV: bad})


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="coalesce_gap"):
        max_gap_for(-1, {})
    with pytest.raises(TypeError, match="coalesce_gap"):
        max_gap_for(1.5, {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="coalesce_gap"):
        max_gap_for(True, {})


def test_zero_merges_only_touching_ranges() -> None:
    spans = plan_ranges([(0, 10), (10, 20), (15, 25), (26, 30)], max_gap=0)
    assert [(s.start, s.end) for s in spans] == [(0, 25), (26, 30)]


def test_the_option_reaches_the_interface_and_derived_clients(tmp_path: object) -> None:
    cf = CloudFiles("s3://bucket/dir", coalesce_gap=4096)
    assert cf._options().coalesce_gap == 4096
    assert cf._derive("s3://bucket/other").coalesce_gap == 4096
    assert CloudFiles("s3://bucket/dir")._options().coalesce_gap is None


def test_a_bad_option_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="coalesce_gap"):
        CloudFiles("s3://bucket/dir", coalesce_gap=-5)
