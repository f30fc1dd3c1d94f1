#!/usr/bin/env python3
"""The request bodies amlab's HTTP backends build (printed by wire_dump) validated against the
official clients' own request types: openai's CompletionCreateParamsNonStreaming and
anthropic's MessageCreateParamsNonStreaming, through pydantic. A deliberately broken copy of
each must fail, so the check is known to bite.

Usage: wire_types_peer.py WIRE_DUMP"""
import copy
import json
import subprocess
import sys
from collections.abc import Iterator

from anthropic.types import message_create_params
from openai.types.chat import completion_create_params
from pydantic import TypeAdapter, ValidationError

failures = 0
passed = 0


def check(cond, what):
    global failures, passed
    if cond:
        passed += 1
    else:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def force(v):
    """pydantic validates Iterable[...] fields lazily: walk everything to validate it all."""
    if isinstance(v, dict):
        return {k: force(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)) or isinstance(v, Iterator):
        return [force(x) for x in v]
    return v


def valid(adapter, body):
    try:
        force(adapter.validate_python(body))
        return None
    except ValidationError as e:
        return str(e)


def main():
    out = subprocess.run([sys.argv[1]], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    check(len(lines) == 2, f"wire_dump printed {len(lines)} lines")
    oa, an = json.loads(lines[0]), json.loads(lines[1])

    openai_t = TypeAdapter(completion_create_params.CompletionCreateParamsNonStreaming)
    anthropic_t = TypeAdapter(message_create_params.MessageCreateParamsNonStreaming)

    e = valid(openai_t, oa)
    check(e is None, f"openai body rejected by openai's types: {e}")
    e = valid(anthropic_t, an)
    check(e is None, f"anthropic body rejected by anthropic's types: {e}")

    # What the types cannot say: the shape details amlab relies on.
    check([m["role"] for m in oa["messages"]] == ["system", "user", "assistant", "tool", "user"],
          "openai roles")
    check(oa["tools"][0]["function"]["name"] == "send_email", "openai tool")
    check(an["system"] == "You are Alex.", "anthropic system apart")
    check([m["role"] for m in an["messages"]] == ["user", "assistant", "user"],
          "anthropic roles alternate")
    check(an["messages"][1]["content"][1]["type"] == "tool_use", "anthropic tool_use block")
    check(an["messages"][2]["content"][0]["type"] == "tool_result", "anthropic tool_result")
    check(an["tools"][0]["input_schema"]["type"] == "object", "anthropic input_schema")

    bad = copy.deepcopy(oa)
    bad["messages"][0]["role"] = "wizard"
    check(valid(openai_t, bad) is not None, "openai types accepted a bad role")
    bad = copy.deepcopy(an)
    del bad["max_tokens"]
    check(valid(anthropic_t, bad) is not None, "anthropic types accepted no max_tokens")
    bad = copy.deepcopy(an)
    bad["messages"][1]["content"][1]["input"] = "not an object"
    check(valid(anthropic_t, bad) is not None, "anthropic types accepted a string tool input")

    print(f"{passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
