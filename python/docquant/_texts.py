"""The text arguments every docquant call accepts: one str, or many in an order -- a list, a
tuple, a 1-D numpy array of str, a pandas Series, or any other iterable of str (a generator,
a file's lines). Refused with a UsageError saying what to pass instead: containers whose
iteration does not give the texts (a DataFrame gives its column names, a dict its keys), sets
(no order to match results to), bytes. Each item must be a str (checked by the core,
python/src/texts.cc, which also applies the CLI's length limit)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from typing import Union

import numpy as np

from . import _errors

Texts = Union[str, "list[str]", "tuple[str, ...]", np.ndarray, Iterable[str]]


def as_text_list(texts: Texts) -> tuple[list[str] | tuple[str, ...], bool]:
    """(the texts as a list or tuple, whether a single str was given)."""
    if isinstance(texts, str):
        return [texts], True
    if isinstance(texts, (list, tuple)):
        return texts, False
    check_many(texts)
    if isinstance(texts, np.ndarray):
        if texts.ndim != 1:
            raise _errors.UsageError(f"texts must be a 1-D array of str, not {texts.ndim}-D (shape {texts.shape})")
        return texts.tolist(), False
    return list(texts), False


def check_many(texts: object) -> None:
    """A UsageError unless ``texts`` is an iterable whose items are the texts, in order."""
    name = _type_name(texts)
    if isinstance(texts, (bytes, bytearray, memoryview)):
        why = "not str: decode it first (docquant reads UTF-8), e.g. texts.decode('utf-8')"
    elif hasattr(texts, "columns"):  # pandas, polars and Spark DataFrames
        why = 'a table, whose iteration gives its columns: pass its text column, e.g. df["text"]'
    elif isinstance(texts, Mapping):
        why = "a mapping, whose iteration gives its keys: pass list(d.values()) for its values, or list(d)"
    elif isinstance(texts, Set):
        why = "a set, which has no order to match the results to: pass a list, e.g. sorted(s)"
    elif not isinstance(texts, Iterable):
        why = "not a str or an iterable of str"
    else:
        return
    raise _errors.UsageError(f"texts is {name}, {why}")


def _type_name(x: object) -> str:
    module = type(x).__module__.split(".")[0]
    return type(x).__name__ if module == "builtins" else f"{module}.{type(x).__name__}"
