"""The dashboard under its original name: `bokeh serve bokeh_dashboard.py`.

The config is `--args --config FILE`, else $CORCYPOWER_CONFIG, else /etc/corcypower/config.toml.
Bokeh runs this file once per browser tab; the shared state (config, poller of the daemon's
state API) is made on the first run and kept by the corcypower package.
`corcypower dashboard` serves the same page and also reads its address, port and allowed
websocket origins from the config.
"""

import argparse
import sys

from bokeh.io import curdoc

from corcypower import settings
from corcypower.dashboard.app import shared
from corcypower.dashboard.page import make_document

parser = argparse.ArgumentParser(prog="bokeh serve bokeh_dashboard.py --args")
parser.add_argument("--config", help="config file (TOML)")
args = parser.parse_args(sys.argv[1:])
make_document(curdoc(), shared(settings.load(args.config)))
