#!/usr/bin/env python3
"""Run `amlab tokenize --model FILE` on every case of the reference tokenizer's vectors and
compare with the expected ids.

Usage: tokenizer_cli_peer.py AMLAB_BIN PEER_DIR NAME... [--peer-vocab-dir DIR]

PEER_DIR's NAMEs are checked, then with --peer-vocab-dir every ggml-vocab-*.gguf.inp of DIR
(models/peer-vocab/, the vectors of the llama-cpp-python 0.3.16 sdist, put there by
scripts/setup): a missing folder or vocabulary fails and says to run scripts/setup. A vocabulary
whose tokenizer.ggml.model amlab does not implement (read with the gguf package) is skipped by
name with the reason, and `amlab tokenize` must refuse it (exit 1).

Also: --parse-special turns a control token's text into its id (SmolLM2-style vocabulary from the
fuzz seeds: "<|endoftext|>" is id 4), usage errors exit 2, a missing file exits 1 naming it.

PEER_DIR/ggml-vocab-NAME.gguf.inp holds the texts separated by "\\n__ggml_vocab_test__\\n";
.out holds one line per text, each id preceded by a space. The command must print the same ids
separated by single spaces, on one line, and exit 0.
"""
import argparse
import concurrent.futures
import hashlib
import os
import subprocess
import struct
import sys

SEP = b"\n__ggml_vocab_test__\n"

# The vocabularies with .inp/.out in the pinned sdist: a partial extraction must not pass.
PEER_VOCABS = ["bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gpt-2",
               "llama-bpe", "llama-spm", "mpt", "phi-3", "qwen2", "refact", "starcoder"]
# tokenizer.ggml.model values amlab does not implement.
UNSUPPORTED = {"bert": "WordPiece, WPM", "t5": "Unigram, UGM", "rwkv": "RWKV greedy tokenizer"}


# GGUF value types: fixed sizes, 8 = string, 9 = array (gguf.GGUFValueType)
FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def tokenizer_model(path):
    """tokenizer.ggml.model of a GGUF file, read independently of amlab. The key-value pairs are
    walked only up to that key: gguf.GGUFReader takes seconds on a 256k-token vocabulary."""
    with open(path, "rb") as f:
        data = f.read()
    magic, version, _, n_kv = struct.unpack_from("<4sIQQ", data, 0)
    assert magic == b"GGUF" and version in (2, 3), path
    off = 24

    def string(off):
        (n,) = struct.unpack_from("<Q", data, off)
        return data[off + 8:off + 8 + n], off + 8 + n

    def skip(vtype, off):
        if vtype in FIXED:
            return off + FIXED[vtype]
        if vtype == 8:
            return string(off)[1]
        assert vtype == 9, "%s: value type %d" % (path, vtype)
        etype, count = struct.unpack_from("<IQ", data, off)
        off += 12
        if etype in FIXED:
            return off + FIXED[etype] * count
        for _ in range(count):
            off = skip(etype, off)
        return off

    for _ in range(n_kv):
        key, off = string(off)
        (vtype,) = struct.unpack_from("<I", data, off)
        off += 4
        if key == b"tokenizer.ggml.model":
            assert vtype == 8, path
            return string(off)[0].decode()
        off = skip(vtype, off)
    return None


def peer_vocab_names(peer_vocab_dir):
    """The NAMEs of DIR/ggml-vocab-NAME.gguf.inp, or None (after saying why) when incomplete."""
    if not os.path.isdir(peer_vocab_dir):
        print("FAIL %s is missing: the tokenizer vectors are fetched by scripts/setup "
              "(part of `make check`): run scripts/setup" % peer_vocab_dir)
        return None
    names = sorted(f[len("ggml-vocab-"):-len(".gguf.inp")] for f in os.listdir(peer_vocab_dir)
                   if f.startswith("ggml-vocab-") and f.endswith(".gguf.inp"))
    missing = [n for n in PEER_VOCABS if n not in names]
    missing += [n for n in names for ext in (".gguf", ".gguf.out")
                if not os.path.isfile(os.path.join(peer_vocab_dir, "ggml-vocab-" + n + ext))]
    if missing:
        print("FAIL %s lacks vocabularies %s: run scripts/setup" % (peer_vocab_dir, missing))
        return None
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("amlab")
    ap.add_argument("peer_dir")
    ap.add_argument("names", nargs="*")
    ap.add_argument("--peer-vocab-dir")
    args = ap.parse_args()
    amlab = args.amlab
    failures = total = 0
    vocabs = [(args.peer_dir, name) for name in args.names]
    jobs, seen = [], set()
    if args.peer_vocab_dir is not None:
        names = peer_vocab_names(args.peer_vocab_dir)
        total += 1
        if names is None:
            failures += 1
        else:
            vocabs += [(args.peer_vocab_dir, name) for name in names]
    for peer_dir, name in vocabs:
        path = os.path.join(peer_dir, "ggml-vocab-%s.gguf" % name)
        model = tokenizer_model(path)
        if model in UNSUPPORTED:
            print("SKIP %s: tokenizer model '%s' (%s) is not implemented by amlab"
                  % (path, model, UNSUPPORTED[model]))
            # once it is implemented, this skip must go
            p = subprocess.run([amlab, "tokenize", "--model", path], input=b"x",
                               capture_output=True, check=False)
            total += 1
            if p.returncode != 1:
                failures += 1
                print("FAIL %s: amlab tokenize exits %d on an unimplemented tokenizer model"
                      % (path, p.returncode))
            continue
        with open(path + ".inp", "rb") as f:
            texts = f.read().split(SEP)
        assert texts[-1] == b"", "input must end with the separator"
        texts = texts[:-1]
        with open(path + ".out") as f:
            expected = f.read().split("\n")[: len(texts)]
        assert len(expected) == len(texts), "%s.out: one line per case" % path
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        fresh = 0
        for i, (text, want) in enumerate(zip(texts, expected)):
            # models/peer-vocab/ repeats the shared four (same files, nearly the same texts):
            # a case already run on the same bytes is not run again (test_tokenizer_peer runs
            # every one in-process).
            key = (digest, text, want)
            if key not in seen:
                seen.add(key)
                jobs.append((path, i, text, " ".join(want.split()) + "\n"))
                fresh += 1
        print("%s: %d cases, %d not seen before" % (path, len(texts), fresh))

    def run_case(job):
        path, _, text, _ = job
        return subprocess.run([amlab, "tokenize", "--model", path], input=text,
                              capture_output=True, check=False)

    # one process per case; as many at a time as there are cores (ASan start-up dominates)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(run_case, jobs))
    for (path, i, text, want_line), p in zip(jobs, results):
        total += 1
        got = p.stdout.decode("ascii", "replace")
        if p.returncode != 0 or got != want_line:
            failures += 1
            print("FAIL %s case %d %r: rc=%d\n  want: %r\n  got:  %r\n  stderr: %s"
                  % (path, i, text[:60], p.returncode, want_line, got, p.stderr.decode()[:300]))
    # options and failures
    src = os.environ.get("AMLAB_SOURCE_DIR", ".")
    tiny = os.path.join(src, "fuzz", "corpus", "gguf", "vocab-bpe.gguf")
    checks = [
        (["--model", tiny, "--parse-special"], b"ab<|endoftext|>", 0, "2 4\n"),
        (["--model", tiny], b"", 0, "\n"),
        (["--bogus"], b"", 2, ""),
        ([], b"", 2, ""),
        (["--model", tiny, "extra"], b"", 2, ""),
        (["--model", "/nonexistent/v.gguf"], b"x", 1, ""),
    ]
    for args, text, rc, out in checks:
        total += 1
        p = subprocess.run([amlab, "tokenize"] + args, input=text, capture_output=True,
                           check=False)
        got = p.stdout.decode("ascii", "replace")
        if p.returncode != rc or (out and got != out) or \
                (rc == 1 and b"/nonexistent/v.gguf" not in p.stderr):
            failures += 1
            print("FAIL tokenize %s: rc=%d stdout=%r stderr=%r" % (args, p.returncode, got,
                                                                  p.stderr.decode()[:200]))
    # with parse-special off, the control token's text is plain text; this vocabulary has no
    # tokens for its characters, which are dropped (as the reference does): only "ab" remains
    p = subprocess.run([amlab, "tokenize", "--model", tiny], input=b"ab<|endoftext|>",
                       capture_output=True, check=False)
    total += 1
    if p.returncode != 0 or p.stdout != b"2\n":
        failures += 1
        print("FAIL plain-text control token: %r" % p.stdout)
    print("%d cases, %d failed" % (total, failures))
    sys.exit(1 if failures or total == 0 else 0)


if __name__ == "__main__":
    main()
