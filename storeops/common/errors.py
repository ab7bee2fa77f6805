"""Errors that reach a user as a clear message rather than a traceback."""


class StoreopsError(Exception):
    """Base of every error the CLI, the API and the pages show to a user as it is."""
