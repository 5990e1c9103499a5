"""One error type for everything a user can fix, so every front-end reports it the same way.

The CLI prints ``zoomdream: error: <message>`` and exits 2; the studio answers HTTP 400 with the
message. A module's own error subclasses ``ZoomdreamError`` and is reported without being listed
anywhere: nothing keeps an allow-list of error types.
"""

from __future__ import annotations


class ZoomdreamError(Exception):
    """A problem the user can fix: one line naming the key or file and the fix.

    ``flag`` is the command-line flag that is the fix (``--overwrite``, ``--resume``), when
    there is one, so a front-end can print the whole command that gets the user going again.
    """

    def __init__(self, message: str, flag: str | None = None):
        super().__init__(message)
        self.flag = flag
