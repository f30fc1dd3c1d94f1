#!/usr/bin/env python3
"""Run `amlab tokenize --model FILE` on every case of the reference tokenizer's vectors and
compare with the expected ids.

Usage: tokenizer_cli_peer.py AMLAB_BIN PEER_DIR NAME...

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
    print("%d cases, %d failed" % (total, failures))
    sys.exit(1 if failures or total == 0 else 0)


if __name__ == "__main__":
    main()
