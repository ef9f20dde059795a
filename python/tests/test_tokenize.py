"""docquant.tokenize against `docquant tokenize` (the CLI's JSON lines), which the C++
suite checks against Hugging Face tokenizers' golden files."""
import json
import subprocess

import numpy as np
import pytest

import docquant

TEXTS = ["a great movie", "", "  Ünïcödé, emoji 🎬 and CJK 映画  ", "word " * 400, "x"]


def test_equals_cli_tokenize(cli, sst2_fixture, tmp_path):
    folder = sst2_fixture / "setfit"
    (tmp_path / "t.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = subprocess.run([cli, "tokenize", "--setfit_model_folder", str(folder), "--input", str(tmp_path / "t.txt")],
                         check=True, capture_output=True, text=True).stdout
    cli_rows = [json.loads(line) for line in out.splitlines()]
    ids, mask = docquant.tokenize(folder, TEXTS)
    assert ids.dtype == np.int64 and mask.dtype == np.int64
    assert ids.shape == mask.shape == (len(TEXTS), max(len(r["input_ids"]) for r in cli_rows))
    for k, row in enumerate(cli_rows):
        n = len(row["input_ids"])
        assert ids[k, :n].tolist() == row["input_ids"]
        assert mask[k, :n].tolist() == row["attention_mask"]
        assert not mask[k, n:].any()  # padding


def test_single_text_and_max_length(sst2_fixture):
    folder = sst2_fixture / "setfit"
    ids, mask = docquant.tokenize(folder, "a great movie")
    assert ids.ndim == 1 and mask.all()
    ids, _ = docquant.tokenize(folder, ["word " * 400], max_length=16)
    assert ids.shape == (1, 16)


def test_threads_have_the_clis_limit(sst2_fixture):
    """tokenize's threads go through the core's check (option_limits.h), as classify's do."""
    for threads in (-1, 10**6):
        with pytest.raises(docquant.UsageError, match=r"threads must be 0 \(one per core\) to \d+"):
            docquant.tokenize(sst2_fixture / "setfit", ["a great movie"], threads=threads)
