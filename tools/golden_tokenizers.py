#!/usr/bin/env python3
"""Golden files for docquant's tokenizer, produced by the reference library.

For every family in tools/tokenizer_sources.py it writes, into --out:
  texts.hex             one input per line, the raw bytes in hex (invalid UTF-8 included)
  <family>.jsonl        per input, {"input_ids", "attention_mask", "token_type_ids"} from HF
                        `tokenizers` with truncation to the family's max length, no padding
  unicode_forms.tsv     NFC/NFD/NFKC/NFKD of every code point that any of them changes
  manifest.json         what the C++ test loads (folder or tokenizer.json, max length, files)

Inputs: the `text` column of every row of shared/data/*.csv plus
tests/tokenizer/data/adversarial.jsonl. Python hands `tokenizers` a str, so raw
bytes are decoded with bytes.decode('utf-8', 'replace'): docquant promises the
same ids for the same bytes (docs/tokenizer.md).

Run with the golden venv (scripts/setup_venvs.sh tokenizers):
  $DOCQUANT_CACHE/venvs/tokenizers/bin/python tools/golden_tokenizers.py --out build/tokenizer_goldens
"""
import argparse
import csv
import json
import pathlib
import sys

import tokenizers
from tokenizers import Tokenizer

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import adversarial_texts  # noqa: E402
import tokenizer_sources  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
ADVERSARIAL = ROOT / "tests" / "tokenizer" / "data" / "adversarial.jsonl"


def read_texts():
    texts = []
    data = tokenizer_sources.SHARED / "data"
    csvs = sorted(data.glob("*.csv"))
    if not csvs:
        raise SystemExit("no CSV files in %s (shared/ data not present)" % data)
    for path in csvs:
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                texts.append(row["text"].encode("utf-8"))
    texts += adversarial_texts.read(ADVERSARIAL)
    return texts


def max_length_of(spec, location):
    if spec.get("max_length"):
        return int(spec["max_length"])
    folder = pathlib.Path(location)
    st = folder / "sentence_bert_config.json"
    if st.exists():
        value = json.loads(st.read_text()).get("max_seq_length")
        if value:
            return int(value)
    return int(json.loads((folder / "tokenizer_config.json").read_text())["model_max_length"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--families", default=",".join(tokenizer_sources.FAMILIES))
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # Goldens of families no longer generated would fail the C++ test's manifest check.
    for stale in out.glob("*.jsonl"):
        stale.unlink()

    texts = read_texts()
    with open(out / "texts.hex", "w") as f:
        for t in texts:
            f.write(t.hex() + "\n")
    decoded = [t.decode("utf-8", "replace") for t in texts]

    # Every code point through tokenizers' NFC/NFD/NFKC/NFKD, written where any form changes
    # it: docquant's normalisation (utf8proc) is checked against it code point by code point.
    from tokenizers import normalizers
    forms = [normalizers.NFC(), normalizers.NFD(), normalizers.NFKC(), normalizers.NFKD()]
    with open(out / "unicode_forms.tsv", "w") as f:
        for cp in range(0x110000):
            if 0xD800 <= cp <= 0xDFFF:
                continue
            ch = chr(cp)
            results = [form.normalize_str(ch) for form in forms]
            if any(r != ch for r in results):
                f.write("%X\t%s\n" % (cp, "\t".join(r.encode("utf-8").hex() for r in results)))

    manifest = {"tokenizers_version": tokenizers.__version__, "inputs": "texts.hex", "count": len(texts),
                "unicode_forms": "unicode_forms.tsv", "families": []}
    for family in args.families.split(","):
        spec = tokenizer_sources.FAMILIES[family]
        location = tokenizer_sources.fetch(family)
        max_length = max_length_of(spec, location)
        # The reference tokenizer.json: the family's own, or for a vocab.txt-only
        # folder the tokenizer.json that transformers would build (its source model's).
        ref_family = spec.get("same_as", family)
        ref = tokenizer_sources.fetch(ref_family)
        ref_json = ref / "tokenizer.json" if ref.is_dir() else ref
        tok = Tokenizer.from_file(str(ref_json))
        tok.no_padding()
        tok.enable_truncation(max_length)
        inputs = decoded
        if spec["load"] == "folder":
            # from_folder prepares texts as sentence-transformers' Transformer.tokenize does.
            st = pathlib.Path(location) / "sentence_bert_config.json"
            lower = st.exists() and bool(json.loads(st.read_text()).get("do_lower_case"))
            inputs = [t.strip().lower() if lower else t.strip() for t in decoded]
        encodings = tok.encode_batch(inputs)
        expected = "%s.jsonl" % family
        with open(out / expected, "w") as f:
            for e in encodings:
                f.write(json.dumps({"input_ids": e.ids, "attention_mask": e.attention_mask,
                                    "token_type_ids": e.type_ids}, separators=(",", ":")) + "\n")
        manifest["families"].append({"name": family, "load": spec["load"], "path": str(location),
                                     "max_length": max_length, "expected": expected})
        print("%s: %d encodings, max length %d, from %s" % (family, len(encodings), max_length, location))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
