#!/usr/bin/env python3
"""The acquisition daemon (systemd unit mcpd): `python mcp_rms.py [--config FILE]`.

Kept under its original name; the code lives in the corcypower package.
"""

import sys

from corcypower.cli import cli

if __name__ == "__main__":
    cli(["run", *sys.argv[1:]], prog_name="mcp_rms.py")
