#!/usr/bin/env python3
"""The command line under its original name: `python tools.py <command>` = `corcypower <command>`."""

from corcypower.cli import cli

if __name__ == "__main__":
    cli(prog_name="tools.py")
