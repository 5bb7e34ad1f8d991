"""The one exception type that carries a user-facing message."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: the message names the problem and the fix.

    The command line prints it as one ``error: ...`` line and exits with status 2.
    """
