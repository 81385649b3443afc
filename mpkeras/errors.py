"""Errors the user fixes by changing a flag, a path or the data, as opposed to bugs.

The recipes' entry points (``python recipes/NAME.py``, ``mpkeras train NAME``) print a
:class:`UserError` as one line, ``mpkeras train NAME: error: MESSAGE``, and exit with status 2
(see :func:`mpkeras.flags.entry_point`); ``--debug`` shows its traceback. Any other exception is a
bug and keeps its traceback. Subclasses keep a built-in base (``ValueError``, ``RuntimeError``, ...)
so that code catching those still catches them.
"""


class UserError(Exception):
    """Base of the errors whose message says what the user should change."""


class UsageError(UserError, ValueError):
    """A setting this run cannot use: a flag value, an environment or a dataset of the wrong kind."""
