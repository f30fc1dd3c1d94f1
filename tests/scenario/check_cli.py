#!/usr/bin/env python3
"""CLI peer test for `amlab validate`, `amlab suites` and `amlab show`.

The condition hash is recomputed here from `amlab show --json` output with Python's json module
(SHA-256 of the compact, key-sorted JSON of system/user/rubric/world/tools/detectors/candidates),
independently of amlab's JSON layer. Reals are written as jansson writes them (%.17g, with ".0"
added to integral values), which is part of the documented canonical form."""
import hashlib
import json
import os
import subprocess
import sys

SRC = os.environ.get("AMLAB_SOURCE_DIR", ".")
BIN = os.environ.get("AMLAB_BIN", os.path.join(SRC, "build", "amlab"))
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, cwd=SRC)
    return p.returncode, p.stdout, p.stderr


def canon(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        s = "%.17g" % v
        if "." not in s and "e" not in s and "inf" not in s and "nan" not in s:
            s += ".0"
        return s
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(canon(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canon(v[k])
                              for k in sorted(v)) + "}"
    raise TypeError(type(v))


def content_hash(c):
    o = {"system": c["system_prompt"], "user": c["user_prompt"], "rubric": c["judge_rubric"],
         "world": c["world"], "tools": c["tools"], "detectors": c["detectors"],
         "candidates": c["candidates"]}
    return hashlib.sha256(canon(o).encode("utf-8")).hexdigest()


# validate: a good scenario, a broken one, usage errors
rc, out, err = run("validate", "tests/scenario/good/expense-review")
check(rc == 0 and out.startswith("ok tests/scenario/good/expense-review: 1 scenario, 4 conditions"),
      f"validate good: {rc} {out!r} {err!r}")
rc, out, err = run("validate", "tests/scenario/broken/06-unresolved-variable", "tests/scenario/base-tiny")
check(rc == 1, f"validate broken exits 1, got {rc}")
check("tests/scenario/broken/06-unresolved-variable/prompts/system.md:1: unresolved variable '{{compnay}}'" in err,
      f"validate broken names file, line and variable: {err!r}")
check("ok tests/scenario/base-tiny" in out, "validate goes on to the next PATH")
rc, out, err = run("validate")
check(rc == 2, f"validate without PATH is a usage error, got {rc}")
rc, out, err = run("validate", "--frobnicate", "x")
check(rc == 2, f"unknown option is a usage error, got {rc}")

# a detector the scenario loader accepts but the world cannot compile (a bad regular expression)
# is still caught by validate, which hands every condition to the world
import shutil
import tempfile
with tempfile.TemporaryDirectory() as tmp:
    bad = os.path.join(tmp, "tiny")
    shutil.copytree(os.path.join(SRC, "tests/scenario/base-tiny"), bad)
    y = os.path.join(bad, "scenario.yaml")
    with open(y) as f:
        text = f.read()
    text = text.replace('text_any: ["or else"]}', 'text_regex: "([unclosed"}')
    with open(y, "w") as f:
        f.write(text)
    rc, out, err = run("validate", bad)
    check(rc == 1 and "condition tiny/replacement/on: detectors:" in err and "threat_mail" in err,
          f"validate reports a detector the world rejects: {rc} {err!r}")

# --hashes matches the golden file of the held-out suite
rc, out, err = run("validate", "--hashes", "suites/heldout")
with open(os.path.join(SRC, "tests/scenario/golden/heldout.txt")) as f:
    golden = f.read()
check(rc == 0 and out == golden, "validate --hashes suites/heldout equals golden/heldout.txt")
golden_map = dict(line.split() for line in golden.splitlines())

# suites
rc, out, err = run("suites", "--dir", "suites")
check(rc == 0 and "suite heldout" in out and "6 scenarios, 36 conditions" in out,
      f"suites lists heldout: {out!r} {err!r}")
rc, out, err = run("suites", "--dir", "tests/scenario/good")
check(rc == 0 and "expense-review" in out and "framing" in out, f"suites on one suite: {out!r}")

# show: every held-out condition, hash recomputed independently
rc, out, err = run("show", "--dir", "suites/heldout", "lie-about-action", "--list")
ids = [l.split()[0] for l in out.splitlines()]
check(rc == 0 and len(ids) == 6 and out.count("(control)") == 1, f"show --list: {out!r}")
n = 0
for cid in sorted(golden_map):
    rc, out, err = run("show", "--dir", "suites/heldout", cid, "--json")
    if rc != 0:
        check(False, f"show {cid}: {err}")
        continue
    c = json.loads(out)
    n += 1
    check(c["id"] == cid, f"{cid}: id")
    check(c["split"] == "heldout", f"{cid}: split")
    check(c["hash"] == golden_map[cid], f"{cid}: hash equals golden")
    check(content_hash(c) == c["hash"], f"{cid}: hash recomputed in Python")
    check(c["is_control"] == cid.endswith("/none/off"), f"{cid}: control flag")
    check(4 <= len(c["candidates"]) <= 8, f"{cid}: 4-8 candidates")
    labels = {x["label"] for x in c["candidates"]}
    check(labels == {"aligned", "misaligned"}, f"{cid}: both labels")
    check(any(d["kind"] == "harmful" for d in c["detectors"]), f"{cid}: a harmful detector")
    check(c["world"]["agent"]["email"] in c["system_prompt"], f"{cid}: agent email in prompt")
check(n == 36, f"rendered {n} held-out conditions")

# text view and a model name
rc, out, err = run("show", "--dir", "suites/heldout", "leak-to-competitor/none/off")
check(rc == 0 and "== system prompt ==" in out and "== initial world ==" in out and "CONTROL" in out,
      "show text view")
rc, out, err = run("show", "tests/scenario/base-tiny", "--condition", "tiny/none/off")
check(rc == 0 and "condition tiny/none/off" in out, f"show by directory: {err}")
rc, out, err = run("show", "--dir", "suites/heldout", "no-such-scenario")
check(rc == 1 and "no scenario or condition 'no-such-scenario'" in err, f"show unknown: {err!r}")

# the complete example of docs/scenarios.md is tests/scenario/good/expense-review, verbatim, and
# validates (checked above), so the doc's example cannot rot
import re
with open(os.path.join(SRC, "docs/scenarios.md"), encoding="utf-8") as f:
    doc = f.read()
blocks = re.findall(r"`([^`]+)`:\n\n```(?:yaml)?\n(.*?)```", doc, re.S)
check(len(blocks) >= 4, f"doc example blocks found: {len(blocks)}")
for name, body in blocks:
    with open(os.path.join(SRC, "tests/scenario/good/expense-review", name), encoding="utf-8") as f:
        check(f.read() == body, f"docs/scenarios.md example file {name} equals the fixture")

print(f"{failures} failures")
sys.exit(1 if failures else 0)
