#!/usr/bin/env python3
"""amlab's Anthropic Messages client (and its OpenAI client) against a real LiteLLM proxy.

LiteLLM (someone else's server, pinned in tests/backend/peer_litellm_requirements.txt) accepts
Anthropic `/v1/messages` requests and turns them into OpenAI Chat Completions for an upstream.
Two upstreams sit behind it on loopback:
  - "rec": a scripted OpenAI-compatible server in this file that records every body LiteLLM
    forwarded, so the test sees what amlab's request became after a real Anthropic parser;
  - "replay": `amlab serve --model replay/FILE` (amlab's own server over recorded replies), so a
    tool-use round trip goes amlab client -> LiteLLM -> amlab server and back.
Every expectation comes from the script of the "rec" server or the replay file, and from the
Anthropic/OpenAI wire formats (LiteLLM's mapping stop -> end_turn, tool_calls -> tool_use,
length -> max_tokens; prompt_tokens -> input_tokens), never from amlab's own output.

No address other than loopback can be reached: when it can, the test re-runs itself in a fresh
network namespace that has only `lo` (unshare -n, as root), and LiteLLM is told not to fetch
its cost map or send telemetry in any case.

Usage: peer_litellm.py PEER_LITELLM_DRIVER AMLAB
Environment: AMLAB_LITELLM_PYTHON, a python that has litellm[proxy]. Without it: the virtual
environment $AMLAB_SOURCE_DIR/build/litellm-venv (made by tests/backend/peer_litellm_setup.sh),
else this python if it has litellm. Exits 77 (ctest: skipped) when none has."""
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

MASTER_KEY = "sk-peer-litellm-master"  # LiteLLM's own proxy key; not a secret of anyone's
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- the scripted upstream ("rec") ----
RECORDED = []
REC_TEXT = "Hello, Kyle."


def rec_answer(body):
    msgs = body.get("messages", [])
    last = msgs[-1] if msgs else {}
    user_text = next((m.get("content") for m in reversed(msgs) if m.get("role") == "user"), "")
    if isinstance(user_text, list):
        user_text = " ".join(p.get("text", "") for p in user_text if isinstance(p, dict))
    usage = {"prompt_tokens": 17 + len(msgs), "completion_tokens": 4,
             "total_tokens": 21 + len(msgs)}
    msg = {"role": "assistant", "content": REC_TEXT}
    finish = "stop"
    if body.get("stream"):
        return 400, {"error": {"message": "this test server does not stream",
                               "type": "invalid_request_error"}}
    if last.get("role") == "tool":
        content = last.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        msg["content"] = "Read: " + str(content)
    elif "TOOLONG" in user_text:
        return 400, {"error": {
            "message": "This model's maximum context length is 8 tokens. However, your "
                       "messages resulted in 99 tokens. Please reduce the length of the messages.",
            "type": "invalid_request_error", "param": "messages",
            "code": "context_length_exceeded"}}
    elif body.get("tools") and "CALL" in user_text:
        msg = {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_rec_1", "type": "function",
            "function": {"name": "read_inbox", "arguments": "{\"folder\": \"inbox\"}"}}]}
        finish = "tool_calls"
    elif "LONG" in user_text:
        msg["content"] = "Once upon a"
        finish = "length"
    return 200, {"id": "chatcmpl-rec", "object": "chat.completion", "created": 1700000000,
                 "model": body.get("model", "rec-upstream"),
                 "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
                 "usage": usage}


class Recorder(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(200, {"object": "list", "data": [{"id": "rec-upstream", "object": "model"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        if self.path.rstrip("/").endswith("/chat/completions"):
            RECORDED.append(body)
            self.reply(*rec_answer(body))
        else:
            self.reply(404, {"error": {"message": f"no route {self.path}"}})


# ---- helpers ----
def wait_http(url, proc, seconds, headers=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            req = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(req, timeout=5) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


def drive(driver, model_id, case, env):
    p = subprocess.run([driver, model_id, case], env=env, capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 0:
        print(f"driver {model_id} {case} exit {p.returncode}: {p.stderr}", flush=True)
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()], p


def run(driver, amlab, litellm_python, tmp):
    loopback_only = os.environ.get("PEER_LITELLM_NETNS") == "1"
    print("network: " + ("own namespace with loopback only" if loopback_only else
                         "host network (unshare -n not available); LiteLLM offline by settings"),
          flush=True)
    rec = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=rec.serve_forever, daemon=True).start()
    rec_port = rec.server_address[1]

    # The replay model answers by turn: turn 0 a tool call, turn 1 the text after the result.
    replay = os.path.join(tmp, "replies.json")
    with open(replay, "w") as f:
        json.dump({"replies": [
            {"content": "", "tool_calls": [{"id": "call_replay_1", "name": "send_email",
                                            "arguments": {"to": "kyle@summitbridge.com",
                                                          "body": "Please reconsider."}}]},
            "I emailed Kyle."]}, f)
    serve = subprocess.Popen([amlab, "serve", "--model", "replay/" + replay, "--port", "0",
                              "--name", "replay-served"], stdout=subprocess.PIPE, text=True)
    procs = [serve]
    try:
        line = serve.stdout.readline()
        check(line.startswith("listening on http://127.0.0.1:"), f"amlab serve listening: {line!r}")
        serve_url = line.split()[2]

        cfg = os.path.join(tmp, "litellm.yaml")
        with open(cfg, "w") as f:
            f.write(f"""model_list:
  - model_name: rec
    litellm_params:
      model: openai/rec-upstream
      api_base: http://127.0.0.1:{rec_port}/v1
      api_key: upstream-dummy
  - model_name: replay
    litellm_params:
      model: openai/replay-served
      api_base: {serve_url}
      api_key: upstream-dummy
litellm_settings:
  telemetry: false
  num_retries: 0
general_settings:
  master_key: {MASTER_KEY}
""")
        port = free_port()
        lenv = dict(os.environ)
        for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
            lenv.pop(k, None)
        lenv.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False",
                     "LITELLM_LOG": "ERROR", "NO_PROXY": "*", "no_proxy": "*",
                     "HF_HUB_OFFLINE": "1",
                     # LiteLLM's documented switch: OpenAI-provider deployments get
                     # /chat/completions (what vLLM, SGLang and amlab serve offer), not /responses.
                     "LITELLM_USE_CHAT_COMPLETIONS_URL_FOR_ANTHROPIC_MESSAGES": "True", "TOKENIZERS_PARALLELISM": "false",
                     "DISABLE_ADMIN_UI": "True", "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True"})
        log = open(os.path.join(tmp, "litellm.log"), "w")
        t0 = time.monotonic()
        proxy = subprocess.Popen([litellm_python, "-m", "litellm.proxy.proxy_cli", "--config",
                                  cfg, "--host", "127.0.0.1", "--port", str(port),
                                  "--num_workers", "1"],
                                 env=lenv, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proxy)
        up = wait_http(f"http://127.0.0.1:{port}/health/liveliness", proxy, 240)
        if not up:
            log.close()
            print(open(os.path.join(tmp, "litellm.log")).read()[-4000:], flush=True)
        check(up, f"LiteLLM proxy up offline on loopback ({time.monotonic() - t0:.1f} s)")
        if not up:
            return

        env = dict(os.environ)
        env.update({"ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}",
                    "ANTHROPIC_API_KEY": MASTER_KEY,
                    "AMLAB_LITELLM_BASE_URL": f"http://127.0.0.1:{port}/v1",
                    "AMLAB_LITELLM_API_KEY": MASTER_KEY,
                    "AMLAB_TEST_LOOPBACK_ONLY": "1", "AMLAB_HTTP_MAX_RETRIES": "0",
                    "AMLAB_HTTP_TIMEOUT_MS": "60000"})

        # 1. Plain reply, system prompt, parameters, stop_reason and usage.
        RECORDED.clear()
        out, _ = drive(driver, "anthropic/rec", "plain", env)
        check(len(out) == 1 and out[0].get("status") == "ok", f"plain: one ok reply: {out}")
        if out:
            r = out[0]
            check(r.get("content") == REC_TEXT, f"plain: text {r.get('content')!r}")
            check(r.get("finish_reason") == "end_turn",
                  f"plain: upstream 'stop' reaches amlab as stop_reason end_turn: "
                  f"{r.get('finish_reason')!r}")
            # rec counts 17 + 2 messages (system, user) in, 4 out.
            check(r.get("prompt_tokens") == 19 and r.get("completion_tokens") == 4,
                  f"plain: usage input 19 / output 4: {r.get('prompt_tokens')} / "
                  f"{r.get('completion_tokens')}")
        check(len(RECORDED) == 1, f"plain: one upstream request ({len(RECORDED)})")
        if RECORDED:
            b = RECORDED[0]
            msgs = b.get("messages", [])
            sys_text = msgs[0].get("content") if msgs else None
            if isinstance(sys_text, list):
                sys_text = "".join(p.get("text", "") for p in sys_text)
            check(len(msgs) == 2 and msgs[0].get("role") == "system" and
                  sys_text == "You are Alex. Answer in one sentence.",
                  f"plain: system prompt forwarded as the system message: {msgs[:1]}")
            user = msgs[-1].get("content") if msgs else None
            if isinstance(user, list):
                user = "".join(p.get("text", "") for p in user)
            check(user == "Say hello to Kyle.", f"plain: user text {user!r}")
            check(b.get("max_tokens") == 64, f"plain: max_tokens 64: {b.get('max_tokens')}")
            check(b.get("temperature") == 0.25, f"plain: temperature 0.25: {b.get('temperature')}")

        # 2. Tool use round trip: tool_use -> tool_result -> reply.
        RECORDED.clear()
        out, _ = drive(driver, "anthropic/rec", "tools", env)
        check(len(out) == 2, f"tools: two replies: {out}")
        if len(out) >= 1:
            r = out[0]
            calls = r.get("tool_calls") or []
            check(r.get("finish_reason") == "tool_use",
                  f"tools: stop_reason tool_use: {r.get('finish_reason')!r}")
            check(len(calls) == 1 and calls[0].get("name") == "read_inbox" and
                  json.loads(calls[0].get("arguments", "null")) == {"folder": "inbox"},
                  f"tools: one read_inbox call with folder=inbox: {calls}")
            check(bool(calls and calls[0].get("id")), "tools: the call has an id")
        if len(RECORDED) >= 1:
            tools = RECORDED[0].get("tools") or []
            names = [t.get("function", {}).get("name") for t in tools]
            check(names == ["read_inbox", "send_email"], f"tools: both offered upstream: {names}")
            if tools:
                params = tools[0].get("function", {}).get("parameters", {})
                check(params.get("properties") == {"folder": {"type": "string"}} and
                      params.get("required") == ["folder"],
                      f"tools: read_inbox schema intact: {params}")
        if len(out) >= 2:
            r = out[1]
            check(r.get("content") == "Read: 3 emails: Kyle (CTO) to all: the wipe is at 5pm.",
                  f"tools: reply after the tool result: {r.get('content')!r}")
            check(r.get("finish_reason") == "end_turn", f"tools: end_turn: {r.get('finish_reason')}")
            # rec counts 17 + 4 messages (system, user, assistant call, tool result).
            check(r.get("prompt_tokens") == 21, f"tools: usage input 21: {r.get('prompt_tokens')}")
        if len(RECORDED) >= 2:
            msgs = RECORDED[1].get("messages", [])
            roles = [m.get("role") for m in msgs]
            check(roles == ["system", "user", "assistant", "tool"],
                  f"tools: second upstream request roles: {roles}")
            if roles == ["system", "user", "assistant", "tool"]:
                call = (msgs[2].get("tool_calls") or [{}])[0]
                check(call.get("function", {}).get("name") == "read_inbox" and
                      json.loads(call.get("function", {}).get("arguments", "null")) ==
                      {"folder": "inbox"}, f"tools: the assistant's call replayed upstream: {call}")
                check(msgs[3].get("tool_call_id") == call.get("id") and call.get("id"),
                      f"tools: tool result answers the call id {call.get('id')!r}: "
                      f"{msgs[3].get('tool_call_id')!r}")

        # 3. max_tokens reached.
        out, _ = drive(driver, "anthropic/rec", "length", env)
        check(len(out) == 1 and out[0].get("finish_reason") == "max_tokens" and
              out[0].get("content") == "Once upon a",
              f"length: upstream 'length' reaches amlab as stop_reason max_tokens: {out}")

        # 4. Errors: a key LiteLLM does not know (without a key database it answers 400 "No
        # connected db."; with no key at all this version answers a bare 500, which says
        # nothing about amlab, so that case is not checked), a context-length error upstream.
        out, p = drive(driver, "anthropic/rec", "plain",
                       dict(env, ANTHROPIC_API_KEY="sk-wrong-key-for-test"))
        check(len(out) == 1 and out[0].get("status") == "error" and
              "HTTP 400" in out[0].get("error", "") and "No connected db" in out[0].get("error"),
              f"error: unknown key fails with LiteLLM's own words: {out}")
        check("sk-wrong-key-for-test" not in p.stdout + p.stderr,
              "error: the key is not echoed in the reply or the log")
        out, _ = drive(driver, "anthropic/rec", "toolong", env)
        check(len(out) == 1 and out[0].get("status") == "error" and
              out[0].get("error_kind") == "context_length",
              f"error: upstream context_length_exceeded is 'context_length': {out}")

        # 5. Through amlab's own server over a replay model: amlab -> LiteLLM -> amlab serve.
        out, _ = drive(driver, "anthropic/replay", "tools", env)
        check(len(out) == 2, f"replay: two replies: {out}")
        if len(out) == 2:
            calls = out[0].get("tool_calls") or []
            check(out[0].get("finish_reason") == "tool_use" and len(calls) == 1 and
                  calls[0].get("name") == "send_email" and
                  json.loads(calls[0].get("arguments", "null")) ==
                  {"to": "kyle@summitbridge.com", "body": "Please reconsider."},
                  f"replay: recorded send_email call came back as tool_use: {out[0]}")
            check(out[1].get("content") == "I emailed Kyle." and
                  out[1].get("finish_reason") == "end_turn",
                  f"replay: recorded turn-1 text after the tool result: {out[1]}")

        # 6. amlab's OpenAI client straight at LiteLLM's Chat Completions route.
        RECORDED.clear()
        out, _ = drive(driver, "openai@litellm/rec", "plain", env)
        check(len(out) == 1 and out[0].get("content") == REC_TEXT and
              out[0].get("finish_reason") == "stop" and out[0].get("prompt_tokens") == 19 and
              out[0].get("completion_tokens") == 4,
              f"openai route: text, finish_reason stop, usage 19/4: {out}")
        out, _ = drive(driver, "openai@litellm/rec", "tools", env)
        check(len(out) == 2 and out[0].get("finish_reason") == "tool_calls" and
              (out[0].get("tool_calls") or [{}])[0].get("name") == "read_inbox" and
              out[1].get("content") == "Read: 3 emails: Kyle (CTO) to all: the wipe is at 5pm.",
              f"openai route: tool round trip: {out}")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        rec.shutdown()


def main():
    if len(sys.argv) != 3:
        print("usage: peer_litellm.py PEER_LITELLM_DRIVER AMLAB", file=sys.stderr)
        return 2
    driver, amlab = sys.argv[1], sys.argv[2]
    src = os.environ.get("AMLAB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
    venv_python = os.path.join(src, "build", "litellm-venv", "bin", "python")
    candidates = ([os.environ["AMLAB_LITELLM_PYTHON"]] if os.environ.get("AMLAB_LITELLM_PYTHON")
                  else [venv_python, sys.executable])
    litellm_python = next((py for py in candidates if os.access(py, os.X_OK) and subprocess.run(
        [py, "-c", "import litellm.proxy.proxy_cli"], capture_output=True,
        env=dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True")).returncode == 0), None)
    if litellm_python is None:
        print(f"SKIP: no litellm[proxy] in {' or '.join(candidates)}; make it with "
              "tests/backend/peer_litellm_setup.sh (or set AMLAB_LITELLM_PYTHON)", flush=True)
        return 77
    print(f"litellm from {litellm_python}", flush=True)
    # Re-run inside a network namespace with only loopback, where the kernel allows it.
    if os.environ.get("PEER_LITELLM_NETNS") is None:
        netns = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
        if shutil.which("unshare") and shutil.which("ip") and subprocess.run(
                netns + ["true"], capture_output=True).returncode == 0:
            inner = [sys.executable, os.path.abspath(__file__), driver, amlab]
            return subprocess.run(netns + inner, env=dict(
                os.environ, PEER_LITELLM_NETNS="1", AMLAB_LITELLM_PYTHON=litellm_python)).returncode
    os.environ.setdefault("PEER_LITELLM_NETNS", "0")
    with tempfile.TemporaryDirectory(prefix="amlab-peer-litellm-") as tmp:
        t0 = time.monotonic()
        run(driver, amlab, litellm_python, tmp)
        print(f"{'FAILED' if FAILURES else 'passed'} in {time.monotonic() - t0:.1f} s; "
              f"{len(FAILURES)} failure(s)", flush=True)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
