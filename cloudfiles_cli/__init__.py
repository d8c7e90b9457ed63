"""cloud-files' ``cloudfiles_cli`` package: its names, mapped onto our CLI (:mod:`cloudfiles.cli`).

``from cloudfiles_cli import main`` is the ``cloudfiles`` command group; see
:mod:`cloudfiles_cli.cloudfiles_cli` for the rest.
"""

from . import cloudfiles_cli, listing_db
from .cloudfiles_cli import *  # noqa: F403 - cloud-files re-exported everything here
from .cloudfiles_cli import __all__ as _cli_all

__all__ = ["cloudfiles_cli", "listing_db", *_cli_all]
