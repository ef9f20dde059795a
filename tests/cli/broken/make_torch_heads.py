"""Hostile SetFit differentiable heads for the broken-input suite (inputs.sh), each made from a
real SetFitHead that the setfit venv's setfit + torch save as SetFitModel._save_pretrained does
(joblib.dump), then changed in one place:

  global         _rebuild_tensor_v2 renamed to torch._utils._rebuild_from_type (same length)
  half           a float16 head (its storages are torch.HalfStorage)
  storage_count  the legacy storage stream's element count says one more than its persistent ID
  zip_size       storages as torch.save's zip archive, the weight entry's size grown by 4096 in
                 the central directory
  nested_bytes   the weight's storage archive calls torch.storage._load_from_bytes again inside
  shape          the weight's size tuple (2, 384) made (3, 384): more than its storage holds
  fields         out_features set to 3 while the weight has 2 rows

Usage: make_torch_heads.py OUT_PREFIX   writes OUT_PREFIX<case>/model_head.pkl for every case
       make_torch_heads.py --seeds DIR    writes DIR/torch_<case>.pkl for an 8-wide head, plus the
                                          valid head in both storage forms: the pickle fuzzer's
                                          checked-in seeds (tests/fuzz/seeds/pickle_fuzz)
"""
import io
import pickletools
import struct
import sys

import joblib
import torch
from setfit.modeling import SetFitHead

DIM = 384  # the minilm-sst2 fixture's width; --seeds uses 8


def head(**kw):
    torch.manual_seed(0)
    return SetFitHead(in_features=DIM, out_features=2, device="cpu", **kw)


def binint(v):
    """How pickle writes a small non-negative int: BININT1 or BININT2."""
    return b"K" + bytes([v]) if v < 256 else b"M" + struct.pack("<H", v)


def dumps(obj):
    b = io.BytesIO()
    joblib.dump(obj, b)
    return b.getvalue()


def with_storage_bytes(obj, edit):
    """joblib.dump with each storage's torch.save bytes passed through edit(bytes, storage)."""
    cls = torch.storage.TypedStorage
    legacy = cls.__reduce__

    def reduce(self):
        fn, (data,) = legacy(self)
        return fn, (edit(data, self),)

    cls.__reduce__ = reduce
    try:
        return dumps(obj)
    finally:
        cls.__reduce__ = legacy


def stops(data):
    """End offsets of the pickles concatenated at the start of data (torch's legacy stream)."""
    ends, pos = [], 0
    for _ in range(5):
        for op, _, at in pickletools.genops(data[pos:]):
            if op.name == "STOP":
                pos += at + 1
                ends.append(pos)
                break
    return ends


def once(data, old, new):
    assert data.count(old) == 1, (old, data.count(old))
    return data.replace(old, new)


def is_weight(storage):
    return storage.size() == 2 * DIM


def storage_count(data, storage):
    if not is_weight(storage):
        return data
    at = stops(data)[4]  # the element count follows the five pickles
    return data[:at] + struct.pack("<q", storage.size() + 1) + data[at + 8:]


def zip_storage(data, storage):
    b = io.BytesIO()
    torch.save(storage, b, _use_new_zipfile_serialization=True)
    return b.getvalue()


def zip_size(data, storage):
    z = bytearray(zip_storage(data, storage))
    if not is_weight(storage):
        return bytes(z)
    name = b"/data/0"
    cd = z.rfind(b"PK\x01\x02", 0, z.rfind(name))  # the weight's central directory entry
    size = struct.unpack_from("<I", z, cd + 20)[0]
    struct.pack_into("<II", z, cd + 20, size + 4096, size + 4096)
    return bytes(z)


def nested_bytes(data, storage):
    if not is_weight(storage):
        return data
    ends = stops(data)
    inner = data[ends[2]:ends[3]]  # the persistent-ID pickle: PROTO 2, then its body
    call = (b"ctorch.storage\n_load_from_bytes\n" + b"B" + struct.pack("<I", len(data)) + data + b"\x85R0")
    return data[:ends[2]] + inner[:2] + call + inner[2:] + data[ends[3]:]


def shape(data):
    # The weight's size (2, DIM): BININT1 2, the width, TUPLE2.
    return once(data, b"K\x02" + binint(DIM) + b"\x86", b"K\x03" + binint(DIM) + b"\x86")


def cases():
    out = {
        "global": once(dumps(head()), b"\x8c\x12_rebuild_tensor_v2", b"\x8c\x12_rebuild_from_type"),
        "half": dumps(head().half()),
        "storage_count": with_storage_bytes(head(), storage_count),
        "zip_size": with_storage_bytes(head(), zip_size),
        "nested_bytes": with_storage_bytes(head(), nested_bytes),
        "shape": shape(dumps(head())),
    }
    fields = head()
    fields.out_features = 3
    out["fields"] = dumps(fields)
    return out


def main(args):
    global DIM
    if args[0] == "--seeds":
        DIM = 8
        seeds = dict(cases(), valid=dumps(head()), valid_zip=with_storage_bytes(head(), zip_storage))
        for name, data in seeds.items():
            with open(f"{args[1]}/torch_{name}.pkl", "wb") as f:
                f.write(data)
        return
    for name, data in cases().items():
        with open(f"{args[0]}{name}/model_head.pkl", "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1:])
