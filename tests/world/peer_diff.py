#!/usr/bin/env python3
"""The unified diffs the world keeps for file changes, checked against GNU patch (a real peer):
for random pairs of texts (small line alphabets so that lines repeat, edits at the start, middle
and end, missing final newlines, created and deleted files), the diff printed by diff_tool must
apply with `patch` and turn the old text into exactly the new one; identical texts give an empty
diff, and every hunk header's line counts must agree with its body.

Usage: peer_diff.py DIFF_TOOL"""
import os
import random
import re
import subprocess
import sys
import tempfile

failures = 0


def fail(msg):
    global failures
    failures += 1
    print(f"FAIL: {msg}", file=sys.stderr)


def random_text(rng):
    n = rng.choice([0, 1, 2, 3, 5, 8, 13, 30, 60])
    lines = [rng.choice("abcdefgh") * rng.randint(1, 3) for _ in range(n)]
    text = "\n".join(lines)
    if lines and rng.random() < 0.8:
        text += "\n"
    return text


def mutate(rng, text):
    lines = text.split("\n")
    for _ in range(rng.randint(0, 6)):
        op = rng.random()
        i = rng.randint(0, len(lines))
        if op < 0.35:
            lines.insert(i, rng.choice(["x", "yy", "a", "zzz"]))
        elif op < 0.7 and lines:
            del lines[min(i, len(lines) - 1)]
        elif lines:
            lines[min(i, len(lines) - 1)] = rng.choice(["q", "b", "new line"])
    out = "\n".join(lines)
    if rng.random() < 0.15:
        out = out.rstrip("\n")
    return out


def check_hunks(diff, case):
    lines = diff.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$", lines[i])
        if not m:
            i += 1
            continue
        old_n = int(m.group(2)) if m.group(2) is not None else 1
        new_n = int(m.group(4)) if m.group(4) is not None else 1
        i += 1
        seen_old = seen_new = 0
        while i < len(lines) and lines[i] and lines[i][0] in " +-\\":
            c = lines[i][0]
            if c in " -":
                seen_old += 1
            if c in " +":
                seen_new += 1
            i += 1
        if (seen_old, seen_new) != (old_n, new_n):
            fail(f"case {case}: hunk header says {old_n},{new_n}, body has {seen_old},{seen_new}")


def main():
    tool = sys.argv[1]
    rng = random.Random(20251128)
    with tempfile.TemporaryDirectory() as d:
        old_p, new_p = os.path.join(d, "old"), os.path.join(d, "new")
        for case in range(300):
            old = random_text(rng)
            new = mutate(rng, old) if rng.random() < 0.9 else old
            created = case % 37 == 0
            deleted = case % 41 == 0 and not created
            for p, t in ((old_p, old), (new_p, new)):
                if os.path.exists(p):
                    os.remove(p)
            if not created:
                with open(old_p, "w") as f:
                    f.write(old)
            if not deleted:
                with open(new_p, "w") as f:
                    f.write(new)
            r = subprocess.run([tool, old_p, new_p, "f.txt"], capture_output=True, text=True)
            if r.returncode != 0:
                fail(f"case {case}: diff_tool failed: {r.stderr}")
                continue
            diff = r.stdout
            before = "" if created else old
            after = "" if deleted else new
            if before == after:
                # nothing changed line-wise (also creating or deleting an empty file)
                if diff:
                    fail(f"case {case}: identical texts gave a diff")
                continue
            check_hunks(diff, case)
            target = os.path.join(d, "f.txt")
            if os.path.exists(target):
                os.remove(target)
            if not created:
                with open(target, "w") as f:
                    f.write(old)
            p = subprocess.run(["patch", "-p1", "-s", "-f", "--no-backup-if-mismatch"],
                               input=diff, capture_output=True, text=True, cwd=d)
            if p.returncode != 0:
                fail(f"case {case}: patch refused the diff: {p.stdout}{p.stderr}\n{diff}")
                continue
            if deleted:
                if os.path.exists(target):
                    fail(f"case {case}: patch did not delete the file")
                continue
            if not os.path.exists(target):
                # patch removes a file that ends up empty
                got = "" if new == "" else None
            else:
                with open(target) as f:
                    got = f.read()
            if got != new:
                fail(f"case {case}: patched text differs\nold={old!r}\nnew={new!r}\ngot={got!r}\n{diff}")
    print(f"300 cases, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
