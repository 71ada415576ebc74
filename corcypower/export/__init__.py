"""Export of closed minutes to a central MySQL/MariaDB ([export.mysql]; optional, off by default).

power.db is the outbox; the exporter forwards what it has not sent yet, idempotently. PyMySQL
is imported only when [export.mysql] is configured (the `mysql` extra).
"""

from __future__ import annotations

import logging

from corcypower.clock import Clock
from corcypower.settings import Config

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'corcypower[mysql]'"


def start_exporter(config: Config, clock: Clock | None = None):
    """Start the export thread when [export.mysql] is configured; the Exporter, or None.

    A bad [export.mysql] section raises ConfigError (before anything starts). Without PyMySQL
    the daemon measures on and logs why nothing is sent; power.db keeps every minute for later.
    """
    from corcypower.export.config import from_config

    settings = from_config(config)
    if settings is None:
        return None
    try:
        from corcypower.export.exporter import Exporter
    except ImportError as exc:
        log.error(
            "[export.mysql] is configured but PyMySQL is missing (%s): %s; measuring goes on, "
            "closed minutes wait in power.db",
            exc,
            INSTALL_HINT,
        )
        return None
    log.info("exporting closed minutes to MySQL %s as point %r", settings.target, settings.point)
    return Exporter(settings, config.db_path, clock).start()
