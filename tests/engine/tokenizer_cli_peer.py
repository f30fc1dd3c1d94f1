#!/usr/bin/env python3
"""Run `amlab tokenize --model FILE` on every case of the reference tokenizer's vectors and
compare with the expected ids.

Usage: tokenizer_cli_peer.py AMLAB_BIN PEER_DIR NAME...

Also: --parse-special turns a control token's text into its id (SmolLM2-style vocabulary from the
fuzz seeds: "<|endoftext|>" is id 4), usage errors exit 2, a missing file exits 1 naming it.

PEER_DIR/ggml-vocab-NAME.gguf.inp holds the texts separated by "\\n__ggml_vocab_test__\\n";
.out holds one line per text, each id preceded by a space. The command must print the same ids
separated by single spaces, on one line, and exit 0.
"""
import os
import subprocess
import sys

SEP = b"\n__ggml_vocab_test__\n"


def main():
    amlab, peer_dir, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    failures = total = 0
    for name in names:
        path = os.path.join(peer_dir, "ggml-vocab-%s.gguf" % name)
        with open(path + ".inp", "rb") as f:
            texts = f.read().split(SEP)
        assert texts[-1] == b"", "input must end with the separator"
        texts = texts[:-1]
        with open(path + ".out") as f:
            expected = f.read().split("\n")[: len(texts)]
        for i, (text, want) in enumerate(zip(texts, expected)):
            total += 1
            p = subprocess.run([amlab, "tokenize", "--model", path], input=text,
                               capture_output=True, check=False)
            want_line = " ".join(want.split()) + "\n"
            got = p.stdout.decode("ascii", "replace")
            if p.returncode != 0 or got != want_line:
                failures += 1
                print("FAIL %s case %d %r: rc=%d\n  want: %r\n  got:  %r\n  stderr: %s"
                      % (name, i, text[:60], p.returncode, want_line, got, p.stderr.decode()[:300]))
        print("%s: %d cases checked" % (name, len(texts)))
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
