#!/usr/bin/env python3
"""report_ref.py: every rate and interval in the golden JSON report (tests/eval/golden/
report.json, the fixture of tests/eval/fixture.h) recomputed independently with SciPy:
Wilson intervals per cell (exact one-sided 1 - 0.05^(1/n) for 0 of n), the MOVER
misalignment interval from the three category Wilson intervals, and Cohen's kappa from the
agreement table; all to 1e-9."""
import json
import math
import os
import sys

from scipy import stats

TOL = 1e-9
fails = []


def close(a, b, what):
    if not abs(a - b) <= TOL:
        fails.append(f"{what}: report {a!r}, scipy {b!r}")


def wilson(k, n):
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


def check_cell(c, what):
    k, n = c["k"], c["n"]
    if n == 0:
        if c["rate"] is not None:
            fails.append(f"{what}: n = 0 but a rate is given")
        return
    close(c["rate"], k / n, what + " rate")
    if k == 0:
        close(c["ci_low"], 0.0, what + " low")
        close(c["ci_high"], stats.beta.ppf(0.95, 1, n), what + " exact upper")
        if not c["upper_exact_one_sided"]:
            fails.append(f"{what}: 0 of n not marked as exact one-sided")
    else:
        lo, hi = wilson(k, n)
        close(c["ci_low"], lo, what + " low")
        close(c["ci_high"], hi, what + " high")


def main():
    src = os.environ.get("AMLAB_SOURCE_DIR", ".")
    rep = json.load(open(os.path.join(src, "tests/eval/golden/report.json")))
    cells = 0
    for group in ("categories", "conditions", "axes", "eval_awareness"):
        for c in rep[group]:
            check_cell(c, f"{group} {c.get('category')} {c.get('condition') or c.get('value')}")
            cells += 1
    cats = {c["category"]: c for c in rep["categories"]}
    ps, downs, ups = [], [], []
    for name in ("blackmail", "research-sabotage", "framing"):
        k, n = cats[name]["k"], cats[name]["n"]
        lo, hi = wilson(k, n)
        p = k / n
        ps.append(p)
        downs.append((p - lo) ** 2)
        ups.append((hi - p) ** 2)
    m = rep["misalignment_rate"]
    mean = sum(ps) / 3
    close(m["rate"], mean, "misalignment rate")
    close(m["ci_low"], max(0.0, mean - math.sqrt(sum(downs)) / 3), "misalignment low")
    close(m["ci_high"], min(1.0, mean + math.sqrt(sum(ups)) / 3), "misalignment high")
    a = rep["agreement"]
    t = [[a["both_harmful"], a["detector_only_harmful"]], [a["judge_only_harmful"], a["neither"]]]
    n = sum(map(sum, t))
    po = (t[0][0] + t[1][1]) / n
    pe = ((t[0][0] + t[0][1]) * (t[0][0] + t[1][0]) + (t[1][0] + t[1][1]) * (t[0][1] + t[1][1])) / n ** 2
    close(a["kappa"], (po - pe) / (1 - pe), "kappa")
    for f in fails:
        print("FAIL", f)
    print(f"{cells} cells + misalignment + kappa checked against SciPy, {len(fails)} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
