"""docquant.tokenize: the C++ tokenizer, for parity checks and for feeding ONNX Runtime yourself."""
from __future__ import annotations

import numpy as np

from . import _core, _errors
from ._paths import PathLike, fs_path
from ._texts import Texts, as_text_list


def tokenize(setfit_model_folder: PathLike, texts: Texts, max_length: int | None = None,
             *, threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask)``, int64 arrays [n, longest], padded with the
    tokenizer's pad id to the longest text as sentence-transformers pads; one row ([longest])
    each for a single str. Exactly what Hugging Face `tokenizers` gives for the folder's
    tokenizer.json after sentence-transformers' strip (and lower-case when configured),
    truncated to ``max_length`` tokens (None: the folder's ``max_seq_length``) including
    special tokens (docs/tokenizer.md). token_type_ids are all zero for single texts.
    Loads the tokenizer on every call (a few ms to ~0.1 s)."""
    if max_length is not None and max_length < 1:
        raise _errors.UsageError(f"max_length must be at least 1, not {max_length}")
    items, single = as_text_list(texts)
    ids, mask = _core.tokenize(fs_path(setfit_model_folder, "setfit_model_folder"), items, max_length or 0, threads)
    return (ids[0], mask[0]) if single else (ids, mask)
