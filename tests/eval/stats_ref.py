#!/usr/bin/env python3
"""stats_ref.py TOOL: check amlab's statistics (through tests/eval/stats_tool.c) against
independent reference values computed here with SciPy (and, where SciPy has no function, from
the textbook formula written out in NumPy on top of SciPy's own Wilson limits).

Every comparison must agree to 1e-9 (absolute, or relative for values above 1)."""
import subprocess
import sys

import numpy as np
from scipy import special, stats

TOL = 1e-9
CONF = 0.95


def wilson(k, n, conf=CONF):
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
    return ci.low, ci.high


def cases():
    """(request line, expected list of floats, label)."""
    out = []
    for p in [1e-300, 1e-20, 1e-8, 0.001, 0.025, 0.1, 0.3, 0.5, 0.7, 0.975, 0.999, 1 - 1e-12]:
        out.append((f"normq {p!r}", [special.ndtri(p)], f"ndtri({p})"))
    for a, b, x in [(0.5, 0.5, 0.3), (0.5, 10.5, 0.01), (3.5, 97.5, 0.05), (2, 3, 0.9),
                    (100.5, 900.5, 0.1), (1, 1, 0.42), (0.5, 5000.5, 1e-5), (25, 0.5, 0.999),
                    (1000.5, 9000.5, 0.105)]:
        out.append((f"betainc {a!r} {b!r} {x!r}", [special.betainc(a, b, x)],
                    f"betainc({a},{b},{x})"))
    for a, b, p in [(0.5, 0.5, 0.025), (0.5, 20.5, 0.975), (3.5, 97.5, 0.025),
                    (3.5, 97.5, 0.975), (50.5, 50.5, 0.5), (0.5, 10000.5, 0.975),
                    (9999.5, 1.5, 0.025), (2, 3, 0.3)]:
        out.append((f"betaq {a!r} {b!r} {p!r}", [special.betaincinv(a, b, p)],
                    f"betaincinv({a},{b},{p})"))
    props = [(0, 1), (0, 10), (1, 10), (5, 10), (10, 10), (3, 100), (81, 263), (15, 148),
             (0, 20), (1, 29), (96, 100), (1, 1000), (999, 1000), (4321, 10000)]
    for k, n in props:
        for conf in (0.95, 0.90, 0.99):
            out.append((f"wilson {k} {n} {conf}", list(wilson(k, n, conf)),
                        f"wilson({k},{n},{conf})"))
            a, b = k + 0.5, n - k + 0.5
            lo = 0.0 if k == 0 else stats.beta.ppf((1 - conf) / 2, a, b)
            hi = 1.0 if k == n else stats.beta.ppf(1 - (1 - conf) / 2, a, b)
            out.append((f"jeffreys {k} {n} {conf}", [lo, hi], f"jeffreys({k},{n},{conf})"))
    for n in (1, 3, 10, 20, 100, 1000, 100000):
        # The exact one-sided upper bound for 0/n is the Clopper-Pearson one: the conf
        # quantile of Beta(1, n).
        ref = stats.binomtest(0, n, alternative="less").proportion_ci(
            confidence_level=CONF, method="exact").high
        out.append((f"zero {n} {CONF}", [ref], f"zero({n})"))
        out.append((f"zero {n} {CONF}", [stats.beta.ppf(CONF, 1, n)], f"zero-beta({n})"))
    pairs = [((56, 70), (48, 80)), ((9, 10), (3, 10)), ((6, 7), (2, 7)), ((5, 56), (0, 29)),
             ((0, 10), (0, 20)), ((0, 10), (0, 10)), ((10, 10), (0, 20)), ((96, 100), (22, 100))]
    for (k1, n1), (k2, n2) in pairs:
        l1, u1 = wilson(k1, n1)
        l2, u2 = wilson(k2, n2)
        p1, p2 = k1 / n1, k2 / n2
        d = p1 - p2
        lo = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        hi = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
        out.append((f"newcombe {k1} {n1} {k2} {n2} {CONF}", [d, lo, hi],
                    f"newcombe({k1}/{n1},{k2}/{n2})"))
    tables = [(3, 1, 1, 3), (8, 2, 1, 5), (0, 10, 10, 0), (1, 9, 11, 3), (96, 4, 22, 78),
              (0, 5, 0, 5), (5, 0, 5, 0), (12, 5, 29, 2), (7, 12, 0, 15), (50, 50, 50, 50),
              (2, 98, 10, 90), (0, 100, 3, 97), (500, 500, 430, 570)]
    for t in tables:
        a, b, c, d = t
        p = stats.fisher_exact([[a, b], [c, d]], alternative="two-sided").pvalue
        out.append((f"fisher {a} {b} {c} {d}", [p], f"fisher{t}"))
    pvs = [[0.01, 0.04, 0.03, 0.005, 0.5], [0.2, 0.2, 0.01, 1.0], [0.001],
           [0.04, 0.04, 0.04, 0.04], list(np.linspace(0.001, 0.9, 37))]
    for ps in pvs:
        q = stats.false_discovery_control(ps, method="bh")
        out.append(("bh " + " ".join(repr(float(x)) for x in ps), list(q), f"bh({len(ps)})"))
    kts = [np.array([[20, 5], [10, 15]]), np.array([[45, 15], [25, 15]]),
           np.array([[10, 2, 1], [3, 12, 4], [0, 2, 9]]), np.array([[50, 0], [0, 50]]),
           np.array([[0, 10], [10, 0]])]
    for t in kts:
        n = t.sum()
        po = np.trace(t) / n
        pe = (t.sum(axis=1) * t.sum(axis=0)).sum() / n ** 2
        kappa = (po - pe) / (1 - pe)
        out.append((f"kappa {t.shape[0]} " + " ".join(str(int(x)) for x in t.flat), [kappa],
                    f"kappa({t.tolist()})"))
    for cats in [[(3, 10), (0, 10), (5, 10)], [(22, 100), (15, 100), (30, 100)],
                 [(0, 50), (0, 50), (0, 50)], [(96, 100), (1, 100), (50, 100)]]:
        ps, downs, ups = [], [], []
        for k, n in cats:
            lo, hi = wilson(k, n)
            p = k / n
            ps.append(p)
            downs.append((p - lo) ** 2)
            ups.append((hi - p) ** 2)
        m = len(cats)
        mean = sum(ps) / m
        lo = max(0.0, mean - np.sqrt(sum(downs)) / m)
        hi = min(1.0, mean + np.sqrt(sum(ups)) / m)
        req = f"mean {CONF} " + " ".join(f"{k} {n}" for k, n in cats)
        out.append((req, [mean, lo, hi], f"mean({cats})"))
    # Undefined requests must fail, not answer.
    for req in ["wilson 0 0 0.95", "wilson 5 3 0.95", "normq 0", "normq 1", "kappa 2 5 0 0 0",
                "fisher -1 2 3 4", "betaq 0 1 0.5", "zero 0 0.95", "bh 1.5"]:
        out.append((req, None, f"error for '{req}'"))
    return out


def main():
    tool = sys.argv[1]
    cs = cases()
    text = "".join(req + "\n" for req, _, _ in cs)
    res = subprocess.run([tool], input=text, capture_output=True, text=True, check=True)
    lines = res.stdout.splitlines()
    if len(lines) != len(cs):
        print(f"expected {len(cs)} answers, got {len(lines)}")
        return 1
    fails = 0
    for (req, want, label), line in zip(cs, lines):
        if want is None:
            if line.strip() != "error":
                print(f"FAIL {label}: expected error, got {line}")
                fails += 1
            continue
        got = [float(x) for x in line.split()] if line != "error" else []
        if len(got) != len(want):
            print(f"FAIL {label}: got '{line}', want {want}")
            fails += 1
            continue
        for g, w in zip(got, want):
            if not abs(g - w) <= TOL * max(1.0, abs(w)):
                print(f"FAIL {label}: {g!r} vs scipy {w!r} (diff {abs(g - w):.3g})")
                fails += 1
    print(f"{len(cs)} reference comparisons, {fails} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
