#!/usr/bin/env python3
"""End-to-end check of amlab's byte-level BPE against Hugging Face `tokenizers` (an independent
BPE implementation) for several pre-tokenizers.

Usage: tokenizer_hf_peer.py TOK_BATCH PEER_DIR MODEL_GGUF

The vocabulary and merges of the peer GPT-2 file are written into temporary vocabulary-only GGUF
files that differ only in tokenizer.ggml.pre (llama-bpe, qwen2, default, falcon, starcoder,
gpt-2, seed-coder, llama4, tekken); the embedded SmolLM2 model is used as is. For each, a `tokenizers`
Tokenizer is assembled from the same vocabulary and merges with the pre-tokenizer's regular
expressions (Split, isolated, in order) and GPT-2's byte-level mapping; llama-bpe also takes a
fragment that is itself a token as is (ignore_merges), and so does tekken. Every text is then tokenized by both
(amlab through TOK_BATCH) and the ids must be identical.
"""
import os
import random
import subprocess
import sys
import tempfile

import gguf
from tokenizers import Regex, Tokenizer, models, pre_tokenizers

WS = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def expand(p):
    """Spell \\s and \\S as explicit White_Space classes with literal characters."""
    out, i, inside = [], 0, False
    while i < len(p):
        c = p[i]
        if c == "\\" and i + 1 < len(p) and p[i + 1] in "sS":
            if p[i + 1] == "s":
                out.append(WS if inside else "[" + WS + "]")
            else:
                out.append("[^" + WS + "]")
            i += 2
            continue
        if c == "\\" and i + 1 < len(p):
            out.append(p[i:i + 2])
            i += 2
            continue
        if c == "[" and not inside:
            inside = True
        elif c == "]" and inside:
            inside = False
        out.append(c)
        i += 1
    return "".join(out)


GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
SEED = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+"

CONTR = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
GPT4O = (r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+" + CONTR + "?"
         r"|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*" + CONTR + "?"
         r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
TEKKEN = (r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+"
          r"|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*"
          r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# pre name -> (expressions, ignore_merges)
CONFIGS = {
    "gpt-2": ([GPT2], False),
    "starcoder": ([r"\p{N}", GPT2], False),
    "llama-bpe": ([LLAMA3], True),
    "qwen2": ([QWEN2], False),
    "seed-coder": ([SEED], False),
    "falcon": ([r"[\p{P}\$\+<=>\^~\|`]+", GPT2, r"[0-9][0-9][0-9]"], False),
    "default": ([r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"], False),
    "llama4": ([GPT4O], False),
    "tekken": ([TEKKEN], True),
}


def read_vocab(path):
    r = gguf.GGUFReader(path)
    f = r.fields
    toks = [bytes(f["tokenizer.ggml.tokens"].parts[i]).decode("utf-8")
            for i in f["tokenizer.ggml.tokens"].data]
    types = [int(f["tokenizer.ggml.token_type"].parts[i][0])
             for i in f["tokenizer.ggml.token_type"].data]
    merges = [bytes(f["tokenizer.ggml.merges"].parts[i]).decode("utf-8")
              for i in f["tokenizer.ggml.merges"].data]
    return toks, types, merges


def write_vocab(path, toks, types, merges, pre):
    w = gguf.GGUFWriter(path, arch="gpt2")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(toks)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def hf_tokenizer(toks, merges, exprs, ignore_merges):
    vocab = {}
    for i, t in enumerate(toks):
        vocab[t] = i  # a later duplicate wins, as in amlab and the reference
    pairs = []
    for m in merges:
        k = m.find(" ", 1)
        pairs.append((m[:k], m[k + 1:]) if k > 0 else ("", ""))
    tk = Tokenizer(models.BPE(vocab=vocab, merges=pairs, ignore_merges=ignore_merges))
    steps = [pre_tokenizers.Split(Regex(expand(e)), behavior="isolated") for e in exprs]
    steps.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False))
    tk.pre_tokenizer = pre_tokenizers.Sequence(steps)
    return tk


def texts(peer_dir):
    out = []
    for name in ("gpt-2", "llama-spm", "starcoder", "deepseek-llm"):
        with open(os.path.join(peer_dir, "ggml-vocab-%s.gguf.inp" % name), encoding="utf-8") as f:
            out += [t for t in f.read().split("\n__ggml_vocab_test__\n") if t]
    alphabet = list("abcXYZ0123456789 .,'!?$+<=>^~|`\r\n\t-_()") + \
        ["'s", "'LL", "é", "Ж", "中文", "한", "٣", "½", "\u0301", "€", "😀", "\u00a0",
         "\u3000", "  ", "the", " The", "1234567", "ing", "ß", "\U0001F600"]
    rnd = random.Random(99)
    for _ in range(300):
        out.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 30))))
    return list(dict.fromkeys(out))


def compare(batch, gguf_path, tk, cases, label):
    payload = "".join(t.encode("utf-8").hex() + "\n" for t in cases).encode()
    p = subprocess.run([batch, gguf_path], input=payload, capture_output=True, check=False)
    if p.returncode != 0:
        print("FAIL %s: tok_batch exited %d: %s" % (label, p.returncode, p.stderr.decode()))
        return 1
    lines = p.stdout.decode().split("\n")
    bad = 0
    for i, t in enumerate(cases):
        want = tk.encode(t, add_special_tokens=False).ids
        got = [int(x) for x in lines[i].split()]
        if got != want:
            bad += 1
            if bad <= 3:
                print("FAIL %s on %r\n  tokenizers: %s\n  amlab:      %s" % (label, t, want, got))
    print("%s %s: %d texts, %d differ" % ("ok  " if not bad else "FAIL", label, len(cases), bad))
    return bad


def main():
    batch, peer_dir, model = sys.argv[1], sys.argv[2], sys.argv[3]
    cases = texts(peer_dir)
    toks, types, merges = read_vocab(os.path.join(peer_dir, "ggml-vocab-gpt-2.gguf"))
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for pre, (exprs, ignore) in CONFIGS.items():
            path = os.path.join(tmp, "vocab-%s.gguf" % pre)
            write_vocab(path, toks, types, merges, pre)
            failures += compare(batch, path, hf_tokenizer(toks, merges, exprs, ignore), cases,
                                "gpt-2 vocabulary, pre=" + pre)
    # the embedded model's own vocabulary (pre=smollm): texts whose bytes it can all spell
    m_toks, _, m_merges = read_vocab(model)
    have = set(m_toks)
    byte_chars = gguf_bytes()
    ok_cases = [t for t in cases if all(byte_chars[b] in have for b in t.encode("utf-8"))]
    failures += compare(batch, model, hf_tokenizer(m_toks, m_merges, CONFIGS["starcoder"][0],
                                                   False), ok_cases, "SmolLM2 (pre=smollm)")
    sys.exit(1 if failures else 0)


def gguf_bytes():
    bs = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


if __name__ == "__main__":
    main()
