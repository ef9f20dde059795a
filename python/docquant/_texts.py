"""The text arguments every docquant call accepts: one str, or many (a list, a tuple, a
numpy array of str, or any other iterable of str such as a pandas Series)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Union

import numpy as np

Texts = Union[str, "list[str]", "tuple[str, ...]", np.ndarray, Iterable[str]]


def as_text_list(texts: Texts) -> tuple[list[str] | tuple[str, ...], bool]:
    """(the texts as a list or tuple, whether a single str was given)."""
    if isinstance(texts, str):
        return [texts], True
    if isinstance(texts, (list, tuple)):
        return texts, False
    if isinstance(texts, np.ndarray):
        if texts.ndim != 1:
            raise TypeError(f"texts must be a 1-D array of str, not {texts.ndim}-D")
        return texts.tolist(), False
    if isinstance(texts, (bytes, bytearray)):
        raise TypeError("texts must be str, not bytes; decode them first (docquant reads UTF-8)")
    if isinstance(texts, Iterable):
        return list(texts), False
    raise TypeError(f"texts must be a str or a list/tuple/numpy array of str, not {type(texts).__name__}")
