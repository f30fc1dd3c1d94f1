#!/usr/bin/env python3
"""The `tools` arrays amlab emits for native function calling (printed by tools_dump), validated
against the official clients' own types: openai's ChatCompletionFunctionToolParam and anthropic's
ToolParam, through pydantic. Each tool must validate and survive the round trip unchanged (no
keys the type does not know); a deliberately broken copy must fail, so the check bites.

Usage: peer_tools.py TOOLS_DUMP"""
import copy
import json
import subprocess
import sys

from anthropic.types import ToolParam
from openai.types.chat import ChatCompletionFunctionToolParam
from pydantic import TypeAdapter, ValidationError

failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}", file=sys.stderr)


def validated(adapter, value):
    try:
        return adapter.validate_python(value), None
    except ValidationError as e:
        return None, str(e)


def main():
    out = subprocess.run([sys.argv[1]], capture_output=True, text=True, check=True)
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    check(len(lines) >= 2, f"tools_dump printed {len(lines)} tool sets")
    oa_t = TypeAdapter(ChatCompletionFunctionToolParam)
    an_t = TypeAdapter(ToolParam)
    n_tools = 0
    for line in lines:
        src = line["source"]
        check(len(line["openai"]) == len(line["anthropic"]) > 0, f"{src}: tool counts")
        for oa, an in zip(line["openai"], line["anthropic"]):
            n_tools += 1
            v, e = validated(oa_t, oa)
            check(e is None, f"{src}: openai tool rejected: {e}")
            check(v == oa, f"{src}: openai tool has keys openai does not know: {oa}")
            v, e = validated(an_t, an)
            check(e is None, f"{src}: anthropic tool rejected: {e}")
            check(v == an, f"{src}: anthropic tool has keys anthropic does not know: {an}")
            check(oa["function"]["name"] == an["name"], f"{src}: names differ")
            check(oa["function"]["parameters"] == an["input_schema"], f"{src}: schemas differ")
    # the check bites: a tool without its name, or with the schema in the wrong place, fails
    bad = copy.deepcopy(lines[0]["openai"][0])
    del bad["function"]["name"]
    check(validated(oa_t, bad)[1] is not None, "openai type accepted a tool without a name")
    bad = copy.deepcopy(lines[0]["anthropic"][0])
    bad["parameters"] = bad.pop("input_schema")
    check(validated(an_t, bad)[1] is not None, "anthropic type accepted a tool without input_schema")
    print(f"{n_tools} tools in {len(lines)} sets checked, {checks} checks, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
