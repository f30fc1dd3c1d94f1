#!/usr/bin/env python3
"""Compare amlab's GGUF reader with the gguf PyPI reader (gguf.GGUFReader).

Usage: gguf_peer.py GGUF_DUMP FILE...

For each FILE, runs GGUF_DUMP (tests/engine/gguf_dump.c) and derives the same lines from
gguf.GGUFReader independently: version, alignment, every metadata key with its type and
value(s), every tensor's name, type, dims, element count, byte size and file offset. Also checks
amlab's table of tensor block geometry (`GGUF_DUMP --types`) against gguf.GGML_QUANT_SIZES.
"""
import subprocess
import sys

import numpy as np
import gguf
from gguf import GGUFValueType as VT

VNAMES = {VT.UINT8: "u8", VT.INT8: "i8", VT.UINT16: "u16", VT.INT16: "i16", VT.UINT32: "u32",
          VT.INT32: "i32", VT.FLOAT32: "f32", VT.BOOL: "bool", VT.STRING: "string",
          VT.ARRAY: "array", VT.UINT64: "u64", VT.INT64: "i64", VT.FLOAT64: "f64"}


def hexs(b):
    b = bytes(b)
    return b.hex() if b else "-"


def fmt_num(t, x):
    if t in (VT.FLOAT32, VT.FLOAT64):
        return "%.17g" % float(x)
    if t == VT.BOOL:
        return "1" if bool(x) else "0"
    return str(int(x))


def expected(path):
    r = gguf.GGUFReader(path)
    lines = []
    f = r.fields
    lines.append("version %d" % int(f["GGUF.version"].parts[-1][0]))
    align = f.get("general.alignment")
    lines.append("alignment %d" % (int(align.parts[-1][0]) if align else 32))
    for name, field in f.items():
        if name.startswith("GGUF."):
            continue
        t0 = field.types[0]
        key = hexs(name.encode("utf-8"))
        if t0 == VT.ARRAY:
            et = field.types[1]
            if et == VT.STRING:
                vals = [field.parts[idx].tobytes().hex() or "-" for idx in field.data]
            elif field.data:
                # plain Python numbers: numpy scalars are slow to format one by one
                flat = np.concatenate([field.parts[idx] for idx in field.data]).tolist()
                vals = [fmt_num(et, x) for x in flat]
            else:
                vals = []
            lines.append(" ".join(["kv", key, "array", VNAMES[et], str(len(field.data))] + vals))
        elif t0 == VT.STRING:
            lines.append("kv %s string %s" % (key, hexs(field.parts[field.data[0]])))
        else:
            lines.append("kv %s %s %s" % (key, VNAMES[t0], fmt_num(t0, field.parts[field.data[0]][0])))
    for t in r.tensors:
        ne = [int(x) for x in t.shape] + [1] * (4 - len(t.shape))
        n_dims = len(t.field.parts[2]) and int(t.field.parts[2][0])
        lines.append("tensor %s %d %d %s %d %d %d" % (
            hexs(t.name.encode("utf-8")), int(t.tensor_type), n_dims,
            " ".join(str(x) for x in ne), int(t.n_elements), int(t.n_bytes), int(t.data_offset)))
    return lines


def main():
    dump = sys.argv[1]
    failures = 0
    got = subprocess.run([dump, "--types"], capture_output=True, check=True).stdout.decode()
    ours = {int(l.split()[0]): (int(l.split()[1]), int(l.split()[2])) for l in got.splitlines()}
    # Q8_1 (9) is a compute-only type amlab rejects in files (gguf-py and ggml disagree on its size)
    ref = {int(t): (b, s) for t, (b, s) in gguf.GGML_QUANT_SIZES.items() if int(t) != 9}
    if ours != ref:
        failures += 1
        print("FAIL type geometry: amlab %s\n  gguf %s" % (sorted(ours.items()), sorted(ref.items())))
    else:
        print("ok   %d tensor types: block geometry identical to gguf.GGML_QUANT_SIZES" % len(ref))
    for path in sys.argv[2:]:
        got = subprocess.run([dump, path], capture_output=True, check=False)
        if got.returncode != 0:
            print("FAIL %s: gguf_dump exited %d: %s" % (path, got.returncode, got.stderr.decode()))
            failures += 1
            continue
        ours = got.stdout.decode("ascii").splitlines()
        ref = expected(path)
        if ours != ref:
            failures += 1
            print("FAIL %s: %d lines vs %d from gguf.GGUFReader" % (path, len(ours), len(ref)))
            for i, (a, b) in enumerate(zip(ours, ref)):
                if a != b:
                    print("  first difference at line %d:\n  amlab: %s\n  gguf:  %s" % (i, a[:300], b[:300]))
                    break
        else:
            n_t = sum(1 for x in ref if x.startswith("tensor "))
            print("ok   %s: %d keys, %d tensors identical" % (path, len(ref) - 2 - n_t, n_t))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
