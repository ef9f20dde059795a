"""docquant's errors as Python exceptions: one class per kind of the C++ core's errors
(include/docquant/error.h), with the message the CLI prints after ``docquant: <kind>:``.

Every class derives from :class:`docquant.Error` and from the built-in exception a
Python caller would expect, so ``except ValueError`` catches a bad input file and
``except OSError`` an output that cannot be written. ``exit_code`` is the CLI's exit code
for the kind (docs/errors.md).

Ctrl-C during a call raises :class:`KeyboardInterrupt` itself (not :class:`Interrupted`),
after the C++ call has stopped and removed what it had staged.
"""


class Error(Exception):
    """Base class of every docquant error."""

    kind = "error"
    exit_code = 1


class UsageError(Error, ValueError):
    """An argument or option is wrong (the CLI's usage error, exit code 2)."""

    kind = "usage error"
    exit_code = 2


class InputError(Error, ValueError):
    """An input file or folder is missing, unreadable or malformed (exit code 3). The message
    names the file and, where it applies, the line, field or node."""

    kind = "input error"
    exit_code = 3


class OutputError(Error, OSError):
    """The output cannot be written: it exists, is not writable, or the disk is full (exit code 4)."""

    kind = "output error"
    exit_code = 4


class CriterionNotMetError(Error):
    """Tuning found no configuration meeting the accuracy criterion; nothing was written
    (exit code 5). Pass ``best_effort=True`` to write the most accurate trial anyway."""

    kind = "accuracy criterion not met"
    exit_code = 5


class Interrupted(Error):
    """A ``cancelled`` callback asked the call to stop; nothing was written (exit code 130)."""

    kind = "interrupted"
    exit_code = 130


class InternalError(Error, RuntimeError):
    """A bug in docquant or a failure inside a library it calls (exit code 70)."""

    kind = "internal error"
    exit_code = 70


def for_kind(kind: str) -> type[Error]:
    """The class for an error of ``kind`` (the C++ core's to_string(ErrorKind)). The core calls
    this at every raise, so after ``importlib.reload`` of this module it raises the new classes."""
    for cls in (UsageError, InputError, OutputError, CriterionNotMetError, Interrupted, InternalError):
        if cls.kind == kind:
            return cls
    return InternalError


__all__ = ["Error", "UsageError", "InputError", "OutputError", "CriterionNotMetError", "Interrupted", "InternalError"]
