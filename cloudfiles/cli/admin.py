"""Housekeeping commands: license, acl, alias, watch."""

from __future__ import annotations

import time
from typing import cast

import click

from .. import paths
from ..cloudfiles import CloudFiles
from .common import (
    CommandGroup,
    current_state,
    locate,
    progress_bar,
)

LICENSE_TEXT = """\
cloudfiles is distributed under the BSD 3-Clause License.

Copyright (c) the cloudfiles authors.
All rights reserved.

Redistribution and use in source and binary forms, with or without modification, are permitted
provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this list of conditions
   and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice, this list of
   conditions and the following disclaimer in the documentation and/or other materials provided
   with the distribution.

3. Neither the name of the copyright holder nor the names of its contributors may be used to
   endorse or promote products derived from this software without specific prior written
   permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR
IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND
FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR
CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER
IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT
OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""




# -- license ----------------------------------------------------------------------------------------
@click.command("license")
def license_() -> None:
    """Print the license of this library and command."""
    click.echo(LICENSE_TEXT, nl=False)


# -- acl ----------------------------------------------------------------------------------------------------
@click.group("acl", cls=CommandGroup)
def acl() -> None:
    """Access control records (if you may read them)."""


@acl.command("get")
@click.argument("sources", nargs=-1)
@click.option("--progress", is_flag=True, help="Show a progress bar (on stderr).")
def acl_get(sources: tuple[str, ...], progress: bool) -> None:
    """Print ACLs. One file: its ACL (local files: the octal mode; others: {name: ACL}). Several: for
    each bucket (a local file's bucket is its top directory) its path, then {path in it: ACL}."""
    state = current_state()
    if len(sources) == 1:
        loc = locate(sources[0])
        value = loc.parent.cf().get_acl(loc.name) if loc.key else None
        if isinstance(value, dict):
            value = next(iter(value.values()), None)
        if loc.protocol != "file":
            click.echo(str({loc.name: value}))
        elif value is None:
            state.warn(f"{loc.arg}: No such file or directory")
        else:
            click.echo(oct(cast(int, value)))
        state.finish()
        return
    groups = paths.find_common_buckets([paths.normalize(arg) for arg in sources])
    with progress_bar(progress, "ACLs", total=len(sources)) as bar:
        for bucket, items in groups.items():
            acls = CloudFiles(bucket).get_acl([item["path"] for item in items])
            bar.update(len(items))
            click.echo(bucket)
            click.echo(str(acls))


# -- alias --------------------------------------------------------------------------------------------------
@click.group("alias", cls=CommandGroup)
def alias() -> None:
    """Name alternate S3 endpoints: 'alias add example s3://https://example.com/' makes
    example://bucket/key mean s3://https://example.com/bucket/key. Saved in $CLOUD_FILES_DIR/aliases.json."""


@alias.command("ls")
def alias_ls() -> None:
    """List aliases: those of the alias file first, then the official ones (marked)."""
    paths.update_aliases_from_file()
    if not paths.ALIASES:
        click.echo("No aliases.")
        return
    from_file = list(paths.ALIASES_FROM_FILE or {})
    for name in from_file + [n for n in paths.ALIASES if n not in from_file]:
        official = "(official)" if name in paths.OFFICIAL_ALIASES else ""
        click.echo(f"{name + '://':15} -> {paths.ALIASES[name]} {official}")


@alias.command("add")
@click.argument("name")
@click.argument("host")
def alias_add(name: str, host: str) -> None:
    """Add (or replace) the alias NAME for HOST, e.g. s3://https://example.com/."""
    state = current_state()
    if name in paths.BASE_ALLOWED_PROTOCOLS:
        state.report(f"alias: {name} is a protocol and cannot be an alias", f"{name} cannot be aliased.")
    elif name in paths.OFFICIAL_ALIASES:
        state.report(f"alias: {name} is an official alias and cannot be changed", f"{name} already exists.")
    else:
        paths.add_persistent_alias(name, host)
    state.finish()


@alias.command("rm")
@click.argument("name")
def alias_rm(name: str) -> None:
    """Remove the alias NAME."""
    state = current_state()
    paths.update_aliases_from_file()
    if name in paths.OFFICIAL_ALIASES:
        state.report(f"alias: {name} is an official alias and cannot be removed", "Cannot remove an official alias.")
    elif name not in paths.ALIASES:
        state.report(f"alias: no alias named {name}")
    else:
        paths.remove_persistent_alias(name)
    state.finish()


# -- watch --------------------------------------------------------------------------------------------------
@click.group("watch", cls=CommandGroup)
def watch() -> None:
    """Monitor the machine's IO."""


@watch.group("net", cls=CommandGroup)
def watch_net() -> None:
    """Network interfaces: print rates or chart them."""


@watch_net.command("print")
@click.option("--duration", type=float, default=0, show_default=True, help="Seconds to run (0: until Ctrl-C).")
@click.option("--interval", type=float, default=1, show_default=True, help="Seconds between lines.")
@click.option("--one-line", is_flag=True, help="Rewrite one line instead of printing many.")
def watch_net_print(duration: float, interval: float, one_line: bool) -> None:
    """Print receive and transmit rates."""
    from ..monitoring import IOSampler

    sampler = IOSampler(buffer_sec=max(interval * 2, 1), interval=interval)
    sampler.start_sampling()
    end = "\r" if one_line else "\n"
    start = time.perf_counter()

    def line() -> str:
        rx, tx = sampler.current_bps()
        elapsed = time.perf_counter() - start
        return (
            f"t={elapsed:1.1f}s | RX: {rx / 8e6:3.2f} MB/sec ({rx / 1e9:1.2f} Gbps) | "
            f"TX: {tx / 8e6:3.2f} MB/sec ({tx / 1e9:1.2f} Gbps)"
        )

    try:
        while True:
            time.sleep(interval)
            click.echo(line(), nl=False)
            click.echo(end, nl=False)
            if 0 < duration <= time.perf_counter() - start:
                break
    except KeyboardInterrupt:
        pass
    finally:
        sampler.stop_sampling()
    if one_line:
        click.echo()


@watch_net.command("histogram")
@click.option("--duration", type=float, default=5, show_default=True, help="Seconds to sample.")
@click.option("--interval", type=float, default=1, show_default=True, help="Seconds between samples.")
@click.option("--filename", default="", help="Save the chart here instead of showing it.")
def watch_net_histogram(duration: float, interval: float, filename: str) -> None:
    """Chart the network rates over DURATION seconds (needs matplotlib)."""
    from ..monitoring import IOSampler

    sampler = IOSampler(buffer_sec=max(duration * 2, 1), interval=interval)
    sampler.start_sampling()
    time.sleep(duration + 0.1)
    sampler.stop_sampling()
    sampler.plot_histogram(filename=filename or None)
