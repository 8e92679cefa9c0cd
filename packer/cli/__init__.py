"""The `octopack` command line: the composition root.

Each command lives in `packer/commands/<area>.py` and is thin: it parses options, calls
library functions and prints. Errors become exit codes in one place, `report_errors`.
Only the commands that need them (`serve`, `keys`, and `import`/`retention`/`pin` with
`--storage`) import `feed` or `storage`, inside the command body.
"""

from __future__ import annotations

import click

from packer import __version__
from packer.cli.common import LazyGroup


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="octopack")
def main() -> None:
    """Pack applications with their deploy scripts, serve them from a feed, deploy them."""
