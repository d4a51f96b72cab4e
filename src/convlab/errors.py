"""User-facing errors: the entry points print ``str(error)`` and exit 2, no traceback."""


class ConvlabError(Exception):
    """A problem the user can fix (bad config, missing or corrupt data)."""


class DataNotFoundError(ConvlabError):
    """None of the configured ways to find a data set worked."""


class CorruptDataError(ConvlabError):
    """A data file exists but is truncated, malformed or inconsistent."""
