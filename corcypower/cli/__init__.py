"""The command line: `corcypower <command>` (or `python tools.py <command>`).

One click group (common.py); each module adds the commands of one part.
"""

from corcypower.cli import (
    acquire,  # noqa: F401  (registers its commands)
    alerts,  # noqa: F401
    dashboard,  # noqa: F401
    energy,  # noqa: F401
    history,  # noqa: F401
    mysql,  # noqa: F401
    system,  # noqa: F401
)
from corcypower.cli.common import cli


def main() -> None:
    cli(prog_name="corcypower")
