"""cloudfiles.interfaces.fskind: which filesystem a directory is on, from /proc/self/mountinfo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloudfiles.interfaces import fskind

MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
40 27 0:45 / /mnt/data rw,relatime shared:12 master:3 - nfs4 server:/export rw,vers=4.2
41 27 0:46 / /scratch rw - tmpfs tmpfs rw,size=1024k
"""


@pytest.mark.parametrize(
    ("dev", "kind"),
    [(os.makedev(254, 0), "ext4"), (os.makedev(0, 45), "nfs4"), (os.makedev(0, 46), "tmpfs"), (os.makedev(9, 9), None)],
)
def test_fs_type_of_reads_the_field_after_the_separator(dev: int, kind: str | None) -> None:
    assert fskind.fs_type_of(dev, MOUNTINFO) == kind  # optional fields (shared:12 master:3) skipped


def test_local_types_cover_disks_and_memory_not_network() -> None:
    assert {"ext4", "xfs", "btrfs", "tmpfs"} <= fskind.LOCAL_TYPES
    assert not {"nfs", "nfs4", "cifs", "lustre", "fuse.sshfs"} & fskind.LOCAL_TYPES


def test_a_missing_path_is_judged_by_its_nearest_existing_parent(tmp_path: Path) -> None:
    assert fskind.is_local_disk(str(tmp_path / "not" / "yet")) == fskind.is_local_disk(str(tmp_path))


def test_without_mountinfo_nothing_is_known_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fskind._local_device.cache_clear()
    monkeypatch.setattr(fskind, "MOUNTINFO", str(tmp_path / "absent"))
    try:
        assert fskind.is_local_disk(str(tmp_path)) is False
    finally:
        fskind._local_device.cache_clear()


def test_the_mounted_type_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dev = os.stat(tmp_path).st_dev
    line = f"27 1 {os.major(dev)}:{os.minor(dev)} / / rw - {{}} src rw\n"
    for kind, local in (("xfs", True), ("nfs", False)):
        info = tmp_path / f"mountinfo-{kind}"
        info.write_text(line.format(kind))
        fskind._local_device.cache_clear()
        monkeypatch.setattr(fskind, "MOUNTINFO", str(info))
        assert fskind.is_local_disk(str(tmp_path)) is local
    fskind._local_device.cache_clear()
