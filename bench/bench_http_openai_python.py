#!/usr/bin/env python3
"""The workload of bench_http through the official `openai` Python client (AsyncOpenAI, one
asyncio loop, a semaphore of max_concurrency), against the same instant endpoint
(`bench_http --endpoint-only`), printed in bench_http's format so the lines sit side by side.

Usage: bench_http_openai_python.py BENCH_HTTP [N] [max_concurrency]"""
import asyncio
import resource
import subprocess
import sys
import time

import openai


async def workload(base, n, conc):
    client = openai.AsyncOpenAI(base_url=base, api_key="none", max_retries=0, timeout=600)
    sem = asyncio.Semaphore(conc)
    ok = 0

    async def one(i):
        nonlocal ok
        async with sem:
            r = await client.chat.completions.create(
                model="bench", seed=i, temperature=0,
                messages=[{"role": "user", "content": f"Episode {i}: you are Alex, an AI "
                           "assistant at SummitBridge. Read the inbox and act."}])
            ok += r.choices[0].message.content is not None

    await asyncio.gather(*(one(i) for i in range(n)))
    await client.close()
    return ok


def main():
    bench = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    conc = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    ep = subprocess.Popen([bench, "--endpoint-only"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    port = int(ep.stdout.readline().split()[1])
    try:
        t0, c0 = time.monotonic(), time.process_time()
        ok = asyncio.run(workload(f"http://127.0.0.1:{port}/v1", n, conc))
        secs, cpu = time.monotonic() - t0, time.process_time() - c0
    finally:
        ep.stdin.close()
        ep.wait()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"openai-py  episodes={n} ok={ok} seconds={secs:.3f} episodes_per_s={n / secs:.0f} "
          f"cpu_s={cpu:.3f} cpu_us_per_episode={cpu / n * 1e6:.1f} peak_rss_mib={rss:.1f} "
          f"(openai {openai.__version__}, client process only)")


if __name__ == "__main__":
    main()
