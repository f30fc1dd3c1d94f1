#!/usr/bin/env python3
"""The official `openai` Python client (a real peer) and curl against amlab's OpenAI-compatible
server over the toy model (tests/backend/toy_model.h): models, chat with tools, n, seed,
logprobs, streaming, prompt scoring with echo, errors, and concurrent clients.

Usage: openai_client_peer.py SERVE_FIXTURE [AMLAB_BIN]
With AMLAB_BIN the same checks run a second time through `amlab serve --model
openai@fixture/toy-served`: amlab's CLI serving amlab's HTTP client as a proxy to the fixture.
Expected values come from the toy model's documented rules, not from the server's code."""
import os
import signal
import concurrent.futures
import json
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


def main():
    fixture = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    line = fixture.stdout.readline().split()
    assert line and line[0] == "PORT", f"fixture said {line!r}"
    port = int(line[1])
    base = f"http://127.0.0.1:{port}/v1"
    try:
        run(base, proxy=False)
        if len(sys.argv) > 2:
            run_proxy(sys.argv[2], base)
    finally:
        fixture.stdin.close()
        fixture.wait(timeout=30)
    check(fixture.returncode == 0, f"fixture exit status {fixture.returncode}")
    print(f"{passed} passed, {failures} failed")
    return 1 if failures else 0


def cli_errors(amlab):
    """`amlab serve` usage and start-up failures: exit 2 for usage, 1 for failure, with a
    message naming the problem."""
    cases = [(["--port", "x"], 2, "--port must be an integer"),
             (["--port", "70000"], 2, "--port must be an integer"),
             (["--bogus"], 2, "unknown option"),
             (["extra"], 2, "unexpected argument"),
             (["--model", "openai@fixture/m", "--host", "999.1.1.1", "--port", "0"], 1,
              "not an IPv4 address"),
             (["--model", "nosuch/x", "--port", "0"], 1, "no known provider")]
    for args, code, needle in cases:
        env = dict(os.environ, AMLAB_FIXTURE_BASE_URL="http://127.0.0.1:9/v1")
        r = subprocess.run([amlab, "serve"] + args, capture_output=True, text=True, timeout=30,
                           env=env)
        check(r.returncode == code and needle in r.stderr,
              f"amlab serve {args}: exit {r.returncode}, stderr {r.stderr!r}")


def run_proxy(amlab, fixture_base):
    cli_errors(amlab)
    env = dict(os.environ, AMLAB_FIXTURE_BASE_URL=fixture_base)
    env.pop("AMLAB_FIXTURE_API_KEY", None)
    proc = subprocess.Popen([amlab, "serve", "--model", "openai@fixture/toy-served", "--port",
                             "0", "--name", "toy-served"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    check(line.startswith("listening on http://127.0.0.1:"), f"amlab serve said {line!r}")
    url = line.split()[2]
    try:
        run(url, proxy=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    check(proc.returncode == 0, f"amlab serve exit status {proc.returncode}: {err}")
    check("terminated" in err, f"amlab serve stderr {err!r}")


def run(base, proxy):
    client = openai.OpenAI(base_url=base, api_key="not-a-real-key", max_retries=0, timeout=30)

    ids = [m.id for m in client.models.list()]
    check(ids == ["toy-served"], f"models.list ids {ids}")

    r = client.chat.completions.create(
        model="toy-served",
        messages=[{"role": "system", "content": "be brief"},
                  {"role": "user", "content": "hello"}],
        temperature=0.5, max_tokens=20, seed=3, logprobs=True)
    c = r.choices[0]
    check(r.object == "chat.completion", f"object {r.object}")
    check(c.message.content == "echo: hello", f"content {c.message.content!r}")
    check(c.message.role == "assistant", "role")
    check(c.finish_reason == "stop", f"finish_reason {c.finish_reason}")
    # toy: prompt_tokens = len("hello"), 3 completion tokens.
    check(r.usage.prompt_tokens == 5 and r.usage.completion_tokens == 3
          and r.usage.total_tokens == 8, f"usage {r.usage}")
    lps = [t.logprob for t in c.logprobs.content]
    check(lps == [-0.125, -0.25, -0.375], f"logprobs {lps}")
    extra = c.message.model_extra or {}
    check(extra.get("reasoning_content") == "r0", f"reasoning_content {extra}")

    # Content as an array of text parts (what newer clients send).
    r = client.chat.completions.create(
        model="toy-served",
        messages=[{"role": "user", "content": [{"type": "text", "text": "parts "},
                                               {"type": "text", "text": "joined"}]}])
    check(r.choices[0].message.content == "echo: parts joined",
          f"parts {r.choices[0].message.content!r}")

    tools = [{"type": "function", "function": {
        "name": "send_email", "description": "Send an email",
        "parameters": {"type": "object", "properties": {"to": {"type": "string"}}}}}]
    r = client.chat.completions.create(
        model="toy-served", tools=tools,
        messages=[{"role": "user", "content": "CALL please"}])
    c = r.choices[0]
    check(c.finish_reason == "tool_calls", f"finish_reason {c.finish_reason}")
    check(c.message.content is None, f"content with tool call {c.message.content!r}")
    tc = c.message.tool_calls[0]
    check(tc.type == "function" and tc.function.name == "send_email", f"tool call {tc}")
    check(json.loads(tc.function.arguments) == {"x": 1}, f"arguments {tc.function.arguments}")
    # The tool call goes back with its result; the toy then echoes the last user text.
    r = client.chat.completions.create(
        model="toy-served", tools=tools,
        messages=[{"role": "user", "content": "CALL please"},
                  c.message.model_dump(exclude_none=True),
                  {"role": "tool", "tool_call_id": tc.id, "content": "sent"},
                  {"role": "user", "content": "thanks"}])
    check(r.choices[0].message.content == "echo: thanks",
          f"after tool result {r.choices[0].message.content!r}")

    r = client.chat.completions.create(model="toy-served", n=3,
                                       messages=[{"role": "user", "content": "hi"}])
    check([ch.index for ch in r.choices] == [0, 1, 2], "n=3 indices")
    # Directly each choice is its own sample index; through the proxy each choice is its own
    # HTTP request, and the sample index does not travel over the wire.
    want = ["r0", "r0", "r0"] if proxy else ["r0", "r1", "r2"]
    check([(ch.message.model_extra or {}).get("reasoning_content") for ch in r.choices]
          == want, "each choice its own sample index")

    stream = client.chat.completions.create(model="toy-served", stream=True,
                                            messages=[{"role": "user", "content": "hi"}])
    text = "".join(ch.choices[0].delta.content or "" for ch in stream)
    check(text == "echo: hi", f"streamed {text!r}")

    # Prompt scoring: segments "The", " cat", " sat"; the toy scores -0.5 per byte.
    r = client.completions.create(model="toy-served", prompt="The cat sat", echo=True,
                                  logprobs=1, max_tokens=0)
    lp = r.choices[0].logprobs
    check(r.choices[0].text == "The cat sat", f"echo {r.choices[0].text!r}")
    check(lp.tokens == ["The", " cat", " sat"], f"tokens {lp.tokens}")
    check(lp.token_logprobs == [None, -2.0, -2.0], f"token_logprobs {lp.token_logprobs}")
    check(lp.text_offset == [0, 3, 7], f"text_offset {lp.text_offset}")

    try:
        client.chat.completions.create(model="toy-served",
                                       messages=[{"role": "user", "content": "TOOLONG"}])
        check(False, "context length error not raised")
    except openai.BadRequestError as e:
        check(e.status_code == 400, "status 400")
        check(e.code == "context_length_exceeded", f"code {e.code}")
    try:
        client.chat.completions.create(model="toy-served",
                                       messages=[{"role": "oracle", "content": "x"}])
        check(False, "bad role not rejected")
    except openai.BadRequestError as e:
        check("messages[0].role" in str(e), f"bad role message {e}")
    try:
        client.completions.create(model="toy-served", prompt="hi", max_tokens=5)
        check(False, "generation through /completions not rejected")
    except openai.BadRequestError as e:
        check("scores prompts only" in str(e), f"completions message {e}")

    def one(i):
        r = client.chat.completions.create(model="toy-served",
                                           messages=[{"role": "user", "content": f"c{i}"}])
        return r.choices[0].message.content

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        got = list(pool.map(one, range(24)))
    check(got == [f"echo: c{i}" for i in range(24)], "concurrent clients")

    # curl, as a user would type it.
    out = subprocess.run(
        ["curl", "-sS", "--noproxy", "*", f"{base}/chat/completions",
         "-H", "Content-Type: application/json",
         "-d", '{"model":"toy-served","messages":[{"role":"user","content":"from curl"}]}'],
        capture_output=True, text=True, timeout=30)
    check(out.returncode == 0, f"curl exit {out.returncode}: {out.stderr}")
    body = json.loads(out.stdout)
    check(body["choices"][0]["message"]["content"] == "echo: from curl", f"curl body {body}")
    out = subprocess.run(["curl", "-sS", "--noproxy", "*", "-o", "/dev/null", "-w",
                          "%{http_code}", "-d", "{oops", f"{base}/chat/completions"],
                         capture_output=True, text=True, timeout=30)
    check(out.stdout == "400", f"curl bad JSON status {out.stdout}")


if __name__ == "__main__":
    sys.exit(main())
