"""Housekeeping commands: license, acl, alias, watch."""

from __future__ import annotations

import json
import time
from typing import cast

import click

from .. import paths
from .common import (
    CLIError,
    CommandGroup,
    current_state,
    json_default,
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
@click.argument("sources", nargs=-1, required=True)
@click.option("--progress", is_flag=True, help="Show a progress bar (on stderr).")
def acl_get(sources: tuple[str, ...], progress: bool) -> None:
    """Print the ACL of each file (local files: the octal mode). Several: 'ACL<TAB>PATH' lines."""
    state = current_state()
    locs = [locate(arg) for arg in sources]
    with progress_bar(progress, "ACLs", total=len(locs)) as bar:
        for loc in locs:
            value = loc.parent.cf().get_acl([loc.name])[loc.name] if loc.key else None
            bar.update(1)
            if value is None and loc.protocol == "file":
                state.warn(f"{loc.arg}: No such file or directory")
                continue
            text = oct(cast(int, value)) if loc.protocol == "file" else (
                value if isinstance(value, str) else json.dumps(value, default=json_default)
            )
            click.echo(text if len(locs) == 1 else f"{text}\t{loc.path()}")
    state.finish()


# -- alias --------------------------------------------------------------------------------------------------
@click.group("alias", cls=CommandGroup)
def alias() -> None:
    """Name alternate S3 endpoints: 'alias add example s3://https://example.com/' makes
    example://bucket/key mean s3://https://example.com/bucket/key. Saved in $CLOUD_FILES_DIR/aliases.json."""


@alias.command("ls")
def alias_ls() -> None:
    """List aliases (official ones are marked)."""
    paths.update_aliases_from_file()
    if not paths.ALIASES:
        click.echo("No aliases.")
        return
    for name, host in sorted(paths.ALIASES.items()):
        official = " (official)" if name in paths.OFFICIAL_ALIASES else ""
        click.echo(f"{name + '://':15} -> {host}{official}")


@alias.command("add")
@click.argument("name")
@click.argument("host")
def alias_add(name: str, host: str) -> None:
    """Add (or replace) the alias NAME for HOST, e.g. s3://https://example.com/."""
    if name in paths.OFFICIAL_ALIASES:
        raise CLIError(f"alias: {name} is an official alias and cannot be changed")
    paths.add_persistent_alias(name, host)


@alias.command("rm")
@click.argument("name")
def alias_rm(name: str) -> None:
    """Remove the alias NAME."""
    if name in paths.OFFICIAL_ALIASES:
        raise CLIError(f"alias: {name} is an official alias and cannot be removed")
    paths.update_aliases_from_file()
    if name not in paths.ALIASES:
        raise CLIError(f"alias: no alias named {name}")
    paths.remove_persistent_alias(name)


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
