"""User-facing errors: raised for bad input, printed as one message without a traceback."""


class ConvlabError(Exception):
    """A problem the user can fix (bad config, missing or corrupt data).

    The entry points print ``str(error)`` and exit with status 2 instead of a traceback.
    """


class DataNotFoundError(ConvlabError):
    """None of the configured ways to find a data set worked."""


class CorruptDataError(ConvlabError):
    """A data file exists but is truncated, malformed or inconsistent."""
