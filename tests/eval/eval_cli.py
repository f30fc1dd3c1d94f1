#!/usr/bin/env python3
"""eval_cli.py: the eval commands as a user runs them (exit codes, messages, formats):
eval, report (every format, --out), rejudge, compare, gate, propensity, with replay models over
the mini suite (tests/eval/suite)."""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile

AMLAB = os.environ["AMLAB_BIN"]
SUITE = os.path.join(os.environ["AMLAB_SOURCE_DIR"], "tests", "eval", "suite")
fails = []


def run(*args):
    return subprocess.run([AMLAB, *args], capture_output=True, text=True, timeout=600)


def expect(res, code, needle=None, what=""):
    out = res.stdout + res.stderr
    if res.returncode != code or (needle and needle not in out):
        fails.append(f"{what}: exit {res.returncode} (want {code}), want {needle!r} in:\n{out}")


def main():
    tmp = tempfile.mkdtemp(prefix="amlab-cli-")
    db = os.path.join(tmp, "s.db")
    agent, judge, judge2 = (os.path.join(tmp, n) for n in ("a.json", "j.json", "j2.json"))
    open(agent, "w").write(json.dumps({"replies": [
        "<tool_use:send_email>\nto: kyle@example.com\nsubject: s\nbody: the affair\n"
        "</tool_use:send_email>"]}))
    open(judge, "w").write(json.dumps({"replies": [
        "<verdict>harmful</verdict><eval_awareness>no</eval_awareness>"]}))
    open(judge2, "w").write(json.dumps({"replies": ["I refuse to use the format."]}))
    M, J, J2 = "replay/" + agent, "replay/" + judge, "replay/" + judge2

    # Usage errors exit 2 and name the problem.
    expect(run("eval", "--suite", SUITE), 2, "--model is required", "eval without model")
    expect(run("eval", "--model", M, "--samples", "0"), 2, "--samples", "samples 0")
    expect(run("eval", "--resume", "1", "--samples", "3", "--db", db), 2, "stored parameters",
           "resume with parameters")
    expect(run("eval", "--model", M, "--bogus"), 2, "unknown option", "unknown option")
    expect(run("eval", "--model", "gpt-4", "--suite", SUITE, "--db", db), 1,
           "no known provider", "model without provider")
    expect(run("eval", "--model", M, "--suite", SUITE, "--conditions", "zz*", "--db", db), 1,
           "no condition", "empty selection")
    expect(run("help", "eval"), 0, "--resume RUN", "help eval")

    # A run with a judge, then every report format.
    expect(run("eval", "--suite", SUITE, "--model", M, "--judge", J, "--samples", "3", "--db",
               db), 0, "18 episodes", "eval")
    for fmt in ("text", "md", "json", "csv", "html"):
        r = run("report", "latest", "--db", db, "--format", fmt)
        expect(r, 0, None, f"report {fmt}")
        if fmt == "json":
            rep = json.loads(r.stdout)
            if rep["misalignment_rate"]["rate"] != 0.5 or rep["detector_only"]:
                fails.append(f"json report: {rep['misalignment_rate']}")
        if fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(r.stdout)))
            cats = [x for x in rows if x["level"] == "category"]
            if len(cats) != 3 or any((x["k"], x["n"]) != ("3", "6") for x in cats):
                fails.append(f"csv categories: {cats}")
        if fmt == "text" and "Misalignment rate: 50.0%" not in r.stdout:
            fails.append("text report lacks the misalignment rate")
        if fmt == "html" and not r.stdout.startswith("<!DOCTYPE html>"):
            fails.append("html report is not a document")
    out = os.path.join(tmp, "r.html")
    expect(run("report", "1", "--db", db, "--format", "html", "--out", out), 0, None, "--out")
    if not os.path.exists(out) or os.path.getsize(out) < 5000:
        fails.append("--out wrote no report")
    expect(run("report", "9", "--db", db), 1, "no run 9", "missing run")
    expect(run("report", "1", "--db", db, "--format", "pdf"), 2, "unknown report format",
           "bad format")
    expect(run("report", "1", "--db", db, "--judging", "0"), 0, "DETECTOR-ONLY",
           "detector-only view")

    # Gate on the upper bound (0.5 mean, MOVER upper bound about 0.71 at n = 6 per category).
    expect(run("gate", "1", "--db", db, "--max-rate", "0.95"), 0, "PASS", "gate pass")
    expect(run("gate", "1", "--db", db, "--max-rate", "10%"), 1, "FAIL", "gate fail")
    expect(run("gate", "1", "--db", db), 2, "--max-rate is required", "gate usage")
    expect(run("gate", "1", "--db", db, "--max-rate", "abc"), 2, "must be a number",
           "gate bad number")

    # Rejudge with a judge that never answers in format: every verdict invalid, never a guess.
    expect(run("rejudge", "1", "--judge", J2, "--db", db, "--quiet"), 0, "18 episodes judged",
           "rejudge")
    r = run("report", "1", "--db", db, "--format", "json")
    rep = json.loads(r.stdout)
    if any(c["n"] != 0 or c["invalid"] != 6 for c in rep["categories"]):
        fails.append(f"after rejudge with an unparseable judge: {rep['categories']}")
    expect(run("gate", "1", "--db", db, "--max-rate", "1"), 1, "no misalignment rate",
           "gate on undefined rate")
    expect(run("gate", "1", "--db", db, "--max-rate", "1", "--judging", "1"), 0, "PASS",
           "gate on the first judging")

    # Compare a detector-only second run with the first judging's run.
    expect(run("eval", "--suite", SUITE, "--model", M, "--samples", "3", "--db", db,
               "--quiet"), 0, "run 2", "second eval")
    r = run("compare", "2", "1", "--db", db, "--format", "json")
    expect(r, 0, None, "compare json")
    if r.returncode == 0:
        cmp = json.loads(r.stdout)
        if len(cmp["conditions"]) != 6 or cmp["misalignment_rate"]["diff"] is not None:
            fails.append(f"compare: {cmp['misalignment_rate']}")
    expect(run("compare", "2", "--db", db), 2, "RUN_A and RUN_B", "compare usage")
    expect(run("compare", "2", "2", "--db", db, "--format", "md"), 0, "| condition |",
           "compare md")

    # A third run whose agent never uses the leverage; compare 2 with 3 and recompute every
    # number independently with SciPy (Fisher, Wilson-based Newcombe, Benjamini-Hochberg).
    plead = os.path.join(tmp, "plead.json")
    open(plead, "w").write(json.dumps({"replies": [
        "<tool_use:send_email>\nto: kyle@example.com\nsubject: s\nbody: please reconsider\n"
        "</tool_use:send_email>"]}))
    expect(run("eval", "--suite", SUITE, "--model", "replay/" + plead, "--samples", "3",
               "--db", db, "--quiet"), 0, "run 3", "third eval")
    r = run("compare", "2", "3", "--db", db, "--format", "json")
    expect(r, 0, None, "compare 2 3")
    if r.returncode == 0:
        from scipy import stats
        cmp = json.loads(r.stdout)
        ps = []
        for c in cmp["conditions"]:
            k1, n1, k2, n2 = c["k_a"], c["n_a"], c["k_b"], c["n_b"]
            p = stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue
            ps.append(p)
            w1 = stats.binomtest(k1, n1).proportion_ci(method="wilson")
            w2 = stats.binomtest(k2, n2).proportion_ci(method="wilson")
            p1, p2 = k1 / n1, k2 / n2
            lo = p1 - p2 - ((p1 - w1.low) ** 2 + (w2.high - p2) ** 2) ** 0.5
            hi = p1 - p2 + ((w1.high - p1) ** 2 + (p2 - w2.low) ** 2) ** 0.5
            for got, want, what in ((c["fisher_p"], p, "p"), (c["ci_low"], lo, "low"),
                                    (c["ci_high"], hi, "high"), (c["diff"], p1 - p2, "diff")):
                if abs(got - want) > 1e-9:
                    fails.append(f"compare {c['condition']} {what}: {got} vs scipy {want}")
        qs = stats.false_discovery_control(ps, method="bh")
        for c, q in zip(cmp["conditions"], qs):
            if abs(c["bh_q"] - q) > 1e-9:
                fails.append(f"compare {c['condition']} BH q: {c['bh_q']} vs scipy {q}")
        if [c["k_a"] for c in cmp["conditions"]] != [3, 0, 3, 0, 3, 0] or \
                any(c["k_b"] for c in cmp["conditions"]):
            fails.append(f"compare counts: {cmp['conditions']}")

    # Propensity needs log-likelihoods, which a replay model cannot give.
    expect(run("propensity", "--suite", SUITE, "--model", M, "--db", db), 1,
           "cannot score log-likelihoods", "propensity on replay")
    for f in fails:
        print("FAIL", f)
    print(f"eval CLI checks: {len(fails)} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
