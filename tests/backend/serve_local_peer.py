#!/usr/bin/env python3
"""`amlab serve --model local/smollm2` (the embedded GGUF model on amlab's own engine) under
the official `openai` Python client: chat completions (greedy is deterministic, n samples,
usage counted, sampled-token logprobs), and prompt scoring through /v1/completions: a
segment's score must not depend on what follows it, and a likely continuation (" Paris.")
must outscore an unlikely one (" Banana.").

Usage: serve_local_peer.py AMLAB_BIN"""
import concurrent.futures
import math
import signal
import subprocess
import sys

import openai

failures = 0
passed = 0


def check(cond, what):
    global failures, passed
    if cond:
        passed += 1
    else:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def score(client, prompt):
    r = client.completions.create(model="smollm2", prompt=prompt, echo=True, logprobs=1,
                                  max_tokens=0)
    lp = r.choices[0].logprobs
    return lp.tokens, lp.token_logprobs


def main():
    proc = subprocess.Popen([sys.argv[1], "serve", "--model", "local/smollm2", "--port", "0",
                             "--name", "smollm2", "--threads", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.wait(timeout=30)
        print(f"amlab serve did not start: {line!r} {proc.stderr.read()}", file=sys.stderr)
        return 1
    base = line.split()[2]
    client = openai.OpenAI(base_url=base, api_key="none", max_retries=0, timeout=600)
    try:
        msgs = [{"role": "user", "content": "Name one colour."}]
        a = client.chat.completions.create(model="smollm2", messages=msgs, temperature=0,
                                           max_tokens=12, seed=1)
        b = client.chat.completions.create(model="smollm2", messages=msgs, temperature=0,
                                           max_tokens=12, seed=2)
        ca, cb = a.choices[0].message.content, b.choices[0].message.content
        check(isinstance(ca, str) and ca.strip() != "", f"greedy content {ca!r}")
        check(ca == cb, f"greedy decoding differs between calls: {ca!r} vs {cb!r}")
        check(a.choices[0].finish_reason in ("stop", "length"), "finish_reason")
        check(a.usage.prompt_tokens > 0 and 0 < a.usage.completion_tokens <= 12,
              f"usage {a.usage}")
        # Concurrent clients are batched into one run of the engine; greedy answers must not
        # change for it.
        def greedy(_):
            r = client.chat.completions.create(model="smollm2", messages=msgs, temperature=0,
                                               max_tokens=12, seed=3)
            return r.choices[0].message.content

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            many = list(pool.map(greedy, range(6)))
        check(many == [ca] * 6, f"greedy under concurrency: {many} vs {ca!r}")
        r = client.chat.completions.create(model="smollm2", messages=msgs, temperature=0.9,
                                           max_tokens=8, n=3, seed=7, logprobs=True)
        check(len(r.choices) == 3, "n=3")
        lps = [t.logprob for t in r.choices[0].logprobs.content]
        check(len(lps) > 0 and all(x <= 0 and math.isfinite(x) for x in lps),
              f"sampled token logprobs {lps}")

        ctx = "The capital of France is"
        toks, lp = score(client, ctx + " Paris. It")
        check(toks[-2:] == [" Paris.", " It"], f"segments {toks}")
        check(lp[0] is None and all(x < 0 and math.isfinite(x) for x in lp[1:]),
              f"scores {lp}")
        toks2, lp2 = score(client, ctx + " Paris.")
        # The context's segments score the same whatever follows them...
        check(all(abs(x - y) < 1e-3 for x, y in zip(lp[1:len(lp2)], lp2[1:])),
              f"prefix scores differ: {lp} vs {lp2}")
        # ...and a likely continuation beats an unlikely one.
        _, lp3 = score(client, ctx + " Banana.")
        check(lp2[-1] > lp3[-1], f"' Paris.' {lp2[-1]} should beat ' Banana.' {lp3[-1]}")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    check(proc.returncode == 0, f"amlab serve exit {proc.returncode}: {err}")
    print(f"{passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
