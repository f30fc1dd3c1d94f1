#!/usr/bin/env python3
"""Write the seed corpus of fuzz/fuzz_gguf.c (fuzz/corpus/gguf/) with the gguf PyPI writer.

Usage: make_gguf_corpus.py OUT_DIR   (the committed files came from running it once)

Small files covering what the reader walks: every scalar value type, numeric and string arrays,
tensors of F32, F16 and Q8_0 (raw blocks), a custom alignment, a vocabulary-only file, and a
truncated copy.
"""
import os
import sys

import numpy as np
import gguf


def write(path, fill, alignment=None):
    w = gguf.GGUFWriter(path, arch="llama")
    if alignment:
        w.data_alignment = alignment
        w.add_uint32("general.alignment", alignment)
    fill(w)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def model(w):
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -5)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -300)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -7)
    w.add_float32("t.f32", 1.5)
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**40))
    w.add_float64("t.f64", 0.1)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo")
    w.add_array("t.ints", [1, -2, 3])
    w.add_array("t.floats", [0.5, 1.25])
    w.add_array("t.strs", ["a", "", "ccc"])
    w.add_tensor("a.f32", np.arange(8, dtype=np.float32).reshape(2, 4))
    w.add_tensor("b.f16", np.arange(4, dtype=np.float16))
    q8 = np.zeros((2, 34), dtype=np.uint8)  # two Q8_0 blocks of 32 elements
    q8[:, 2:] = np.arange(32, dtype=np.uint8)
    w.add_tensor("c.q8_0", q8, raw_dtype=gguf.GGMLQuantizationType.Q8_0)


def vocab(w):
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(["a", "b", "ab", "Ġ", "<|endoftext|>"])
    w.add_token_types([1, 1, 1, 1, 3])
    w.add_token_merges(["a b"])
    w.add_bos_token_id(4)
    w.add_eos_token_id(4)


def spm(w):
    w.add_tokenizer_model("llama")
    w.add_token_list(["<unk>", "<s>", "</s>", "<0x41>", "▁a"])
    w.add_token_scores([0.0, 0.0, 0.0, -1.0, -2.5])
    w.add_token_types([2, 3, 3, 6, 1])
    w.add_add_bos_token(True)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "model.gguf"), model)
    write(os.path.join(out, "aligned64.gguf"), model, alignment=64)
    write(os.path.join(out, "vocab-bpe.gguf"), vocab)
    write(os.path.join(out, "vocab-spm.gguf"), spm)
    with open(os.path.join(out, "model.gguf"), "rb") as f:
        data = f.read()
    with open(os.path.join(out, "truncated.gguf"), "wb") as f:
        f.write(data[: len(data) * 2 // 3])


if __name__ == "__main__":
    main()
