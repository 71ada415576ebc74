"""Every error CorcyPower raises on purpose, in one place."""


class CorcyPowerError(Exception):
    """Base class of CorcyPower's own errors; the CLI prints these without a traceback."""


class ConfigError(CorcyPowerError, ValueError):
    """A configuration file or value is wrong; the message names the file, key and value."""


class SPIError(CorcyPowerError, OSError):
    """The SPI device could not be opened or read."""


class CaptureFormatError(CorcyPowerError, ValueError):
    """A capture file does not follow the capture format."""


class StoreError(CorcyPowerError, RuntimeError):
    """The database cannot be opened, migrated or written."""


class ExportError(CorcyPowerError, RuntimeError):
    """The central MySQL/MariaDB cannot be reached or written; the message says what to check."""


class DatabaseBusy(StoreError):
    """Another process (a daemon, an import) holds the database's writer lock."""


class ForeignDatabase(StoreError):
    """The file at the database's path is not CorcyPower's, or comes from a newer version."""


class DeliveryError(CorcyPowerError, OSError):
    """A notification could not be delivered; the message says where and why."""


class UnknownChannel(CorcyPowerError, LookupError):
    """A query names a channel the database does not hold; the message lists those it does."""
