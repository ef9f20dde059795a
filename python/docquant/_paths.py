"""Paths as the C++ core takes them: the bytes the OS gets (``os.fsencode``), so that every
name the file system can hold works -- a str with surrogate escapes (``os.fsdecode`` of bytes
that are not UTF-8), bytes, any ``os.PathLike``. Messages show bytes that are not UTF-8 as
``\\xNN``, as the core's own messages do."""
from __future__ import annotations

import os

from . import _errors

PathLike = str | bytes | os.PathLike


def fs_path(path: PathLike, argument: str) -> bytes:
    """``path`` as bytes for the core. UsageError naming ``argument`` when it is not a path;
    InputError naming the path when no file can have that name (a NUL byte, a lone surrogate)."""
    try:
        raw = os.fsencode(path)
    except TypeError:
        raise _errors.UsageError(f"{argument} must be a path (str, bytes or os.PathLike), "
                                 f"not {type(path).__name__}") from None
    except UnicodeEncodeError as e:  # a surrogate that no byte escapes, e.g. '\ud800'
        raise _errors.InputError(f"{path!r}: not a file name ({argument}): {e.reason}") from None
    if b"\0" in raw:
        raise _errors.InputError(f"{shown(raw)}: not a file name ({argument}): it holds a NUL byte")
    return raw


def shown(path: PathLike) -> str:
    """``path`` for messages: UTF-8, other bytes (and NUL) as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace").replace("\0", "\\x00")
