"""The adversarial tokenizer inputs of tests/tokenizer/data/adversarial.jsonl, as bytes.

One JSON object per line: {"text": ..., "repeat": N} (the text N times) or {"hex": ...}
(raw bytes, e.g. invalid UTF-8); blank lines and lines starting with // are comments.
Lines are split on "\\n" only: texts may hold U+2028 and other characters str.splitlines
would split on. Shared by tools/golden_tokenizers.py (goldens) and tests/fuzz/make_seeds.py
(fuzz seeds, which cap `repeat` to keep seeds small).
"""
import json
import pathlib

PATH = pathlib.Path(__file__).resolve().parent.parent / "tests" / "tokenizer" / "data" / "adversarial.jsonl"


def read(path=PATH, max_repeat=None):
    texts = []
    for line in pathlib.Path(path).read_text(encoding="utf-8").split("\n"):
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        item = json.loads(line)
        if "hex" in item:
            texts.append(bytes.fromhex(item["hex"]))
            continue
        repeat = int(item.get("repeat", 1))
        if max_repeat is not None:
            repeat = min(repeat, max_repeat)
        texts.append((item["text"] * repeat).encode("utf-8", "surrogatepass"))
    return texts
