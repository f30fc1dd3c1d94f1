#!/usr/bin/env python3
"""Harness overhead side by side (DESIGN.md section 11): N single-turn episodes against the same
instant local endpoint (bench_http's libmicrohttpd server with a fixed answer), run by
  - amlab:      bench/bench_http (one am_model_run; its "http" phase, no cache);
  - openai-py:  the official openai client, AsyncOpenAI + a semaphore, one asyncio loop
                (bench/bench_http_openai_python.py, this python);
  - inspect-ai: a real evaluation harness, inspect_ai.eval() of a one-turn task of N samples
                (solver generate(), no scorer, default logging) through its OpenAI-compatible
                provider, max_connections = the same concurrency (run by --inspect-python).
Prints episodes/s, CPU per episode and peak RSS for each, and the ratios to amlab.

Not a test (never run by ctest): the numbers depend on the machine and its load.

  bench/harness_compare.py BENCH_HTTP [--n N] [--concurrency C] [--inspect-python PY]

PY is a python with inspect-ai installed (inspect-ai==0.3.285, everything pinned in
bench/harness_compare.requirements.txt: `python3 -m venv build/inspect-venv &&
build/inspect-venv/bin/pip install -r bench/harness_compare.requirements.txt`); without it the
inspect-ai row is left out. Where `unshare -n` works (root), everything runs in a network
namespace with only loopback, so no harness can reach another address.

Peak RSS: amlab's includes the endpoint (it runs in bench_http's process); the Python rows are
the client process only (the endpoint is a separate bench_http --endpoint-only)."""
import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROMPT = "Episode {i}: you are Alex, an AI assistant at SummitBridge. Read the inbox and act."


def inspect_child(bench, n, conc):
    """Runs under the inspect-ai python: prints one JSON line of measurements."""
    import inspect_ai
    from inspect_ai import Task, eval as inspect_eval
    from inspect_ai.dataset import Sample
    from inspect_ai.solver import generate

    import inspect_ai.model._providers.openai_compatible as oai_compat

    # bench_http's fixed answer is minimal: no "model", no "created", usage without
    # total_tokens. OpenAI always sends them and inspect requires them, so fill them in (model
    # name, 0, prompt + completion) before inspect reads the answer; a few attribute stores.
    to_output = oai_compat.model_output_from_openai

    def with_total_tokens(completion, choices):
        if completion.model is None:
            completion.model = "bench"
        if completion.created is None:
            completion.created = 0
        u = completion.usage
        if u is not None and u.total_tokens is None:
            u.total_tokens = (u.prompt_tokens or 0) + (u.completion_tokens or 0)
        return to_output(completion, choices)

    oai_compat.model_output_from_openai = with_total_tokens
    ep = subprocess.Popen([bench, "--endpoint-only"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    port = int(ep.stdout.readline().split()[1])
    os.environ.update({"BENCH_BASE_URL": f"http://127.0.0.1:{port}/v1", "BENCH_API_KEY": "none",
                       "INSPECT_LOG_LEVEL": "warning", "INSPECT_DISPLAY": "none"})
    task = Task(dataset=[Sample(input=PROMPT.format(i=i), target="") for i in range(n)],
                solver=generate())
    with tempfile.TemporaryDirectory(prefix="amlab-bench-inspect-") as logs:
        try:
            t0, c0 = time.monotonic(), time.process_time()
            result = inspect_eval(task, model="openai-api/bench/bench", max_connections=conc,
                                  max_samples=conc, log_dir=logs, display="none",
                                  max_retries=0, fail_on_error=True)
            secs, cpu = time.monotonic() - t0, time.process_time() - c0
        finally:
            ep.stdin.close()
            ep.wait()
        log = result[0]  # read before the log folder goes (samples may load from it)
        ok = sum(1 for s in (log.samples or []) if s.output and s.output.completion)
        if log.status != "success" and log.error:
            print(f"inspect-ai: {log.error.message}", file=sys.stderr)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"episodes": n, "ok": ok, "status": log.status, "seconds": secs,
                      "cpu_s": cpu, "peak_rss_mib": rss, "version": inspect_ai.__version__}))


def fields(line):
    return {k: v for k, v in re.findall(r"(\w+)=([0-9.]+)", line)}


def run_amlab(bench, n, conc):
    p = subprocess.run([bench, str(n), str(conc)], capture_output=True, text=True, timeout=600)
    line = next((x for x in p.stdout.splitlines() if x.startswith("http ")), None)
    if p.returncode != 0 or line is None:
        raise SystemExit(f"bench_http failed ({p.returncode}): {p.stdout}{p.stderr}")
    f = fields(line)
    return {"ok": int(f["ok"]), "seconds": float(f["seconds"]), "cpu_s": float(f["cpu_s"]),
            "peak_rss_mib": float(f["peak_rss_mib"]), "note": "endpoint in process"}


def run_openai_py(bench, n, conc):
    p = subprocess.run([sys.executable, os.path.join(HERE, "bench_http_openai_python.py"), bench,
                        str(n), str(conc)], capture_output=True, text=True, timeout=3600)
    line = next((x for x in p.stdout.splitlines() if x.startswith("openai-py")), None)
    if p.returncode != 0 or line is None:
        print(f"openai-py failed ({p.returncode}): {p.stderr[-2000:]}", file=sys.stderr)
        return None
    f = fields(line)
    version = re.search(r"\(openai ([^,]+),", line)
    return {"ok": int(f["ok"]), "seconds": float(f["seconds"]), "cpu_s": float(f["cpu_s"]),
            "peak_rss_mib": float(f["peak_rss_mib"]),
            "note": f"openai {version.group(1) if version else '?'}, client only"}


def run_inspect(py, bench, n, conc):
    p = subprocess.run([py, os.path.abspath(__file__), "--inspect-child", bench, "--n", str(n),
                        "--concurrency", str(conc)], capture_output=True, text=True,
                       timeout=3600)
    lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
    if p.returncode != 0 or not lines:
        print(f"inspect-ai failed ({p.returncode}): {p.stderr[-3000:]}", file=sys.stderr)
        return None
    r = json.loads(lines[-1])
    if r["status"] != "success":
        print(f"inspect-ai eval status {r['status']}: {p.stderr[-2000:]}", file=sys.stderr)
    r["note"] = f"inspect-ai {r['version']}, client only"
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bench_http")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=256)
    ap.add_argument("--inspect-python")
    ap.add_argument("--inspect-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-netns", action="store_true", help="do not enter a loopback-only netns")
    a = ap.parse_args()
    bench = os.path.abspath(a.bench_http)
    if a.inspect_child:
        inspect_child(bench, a.n, a.concurrency)
        return 0
    netns = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
    if not a.no_netns and os.environ.get("HARNESS_COMPARE_NETNS") is None and \
            shutil.which("unshare") and shutil.which("ip") and \
            subprocess.run(netns + ["true"], capture_output=True).returncode == 0:
        return subprocess.run(netns + [sys.executable, os.path.abspath(__file__)] + sys.argv[1:],
                              env=dict(os.environ, HARNESS_COMPARE_NETNS="1")).returncode

    n, conc = a.n, a.concurrency
    print(f"harness_compare: {n} single-turn episodes per harness, concurrency {conc}, instant "
          f"local endpoint, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, network: "
          f"{'loopback-only namespace' if os.environ.get('HARNESS_COMPARE_NETNS') else 'host'}",
          flush=True)
    rows = [("amlab", run_amlab(bench, n, conc))]
    rows.append(("openai-py", run_openai_py(bench, n, conc)))
    if a.inspect_python:
        rows.append(("inspect-ai", run_inspect(a.inspect_python, bench, n, conc)))
    else:
        print("(no --inspect-python: inspect-ai row left out)")
    base = rows[0][1]
    base_eps = n / base["seconds"]
    print(f"{'harness':<11}{'ok':>7}{'seconds':>10}{'episodes/s':>12}{'cpu us/ep':>11}"
          f"{'peak RSS MiB':>14}{'amlab x faster':>16}{'RSS x amlab':>13}  note")
    for name, r in rows:
        if r is None:
            print(f"{name:<11}  failed (see above)")
            continue
        eps = n / r["seconds"]
        print(f"{name:<11}{r['ok']:>7}{r['seconds']:>10.2f}{eps:>12.0f}"
              f"{r['cpu_s'] / n * 1e6:>11.0f}{r['peak_rss_mib']:>14.1f}"
              f"{base_eps / eps:>16.1f}{r['peak_rss_mib'] / base['peak_rss_mib']:>13.1f}"
              f"  {r['note']}")
    return 0 if all(r is not None and r["ok"] == n for _, r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
