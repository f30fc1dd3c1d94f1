#!/usr/bin/env python3
"""Check amlab's hand-written pre-tokenizers against the regular expressions they implement,
run by the `regex` PyPI module.

Usage: pretok_peer.py PRETOK_DUMP PEER_DIR

For every pre-tokenizer, the expressions below (as published in the models' tokenizer.json and
used, in this order, by the reference tokenizer llama.cpp) split each text: each expression runs
over every fragment the previous one left, and both its matches and the text between them
become fragments. Two conventions of the reference are reproduced: \\s means Unicode White_Space,
and for expressions that spell out non-ASCII characters every non-ASCII whitespace character is
first replaced by a vertical tab. The texts: the reference's test texts (PEER_DIR/*.inp), edge
cases, and seeded random strings over a mixed alphabet of assigned code points.
"""
import glob
import os
import random
import subprocess
import sys
import unicodedata

import regex

WS = "\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
WS_SET = set("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | \
    {chr(c) for c in range(0x2000, 0x200B)}


def expand(p):
    """Spell \\s and \\S as explicit White_Space classes (inside and outside brackets)."""
    out, i, inside = [], 0, False
    while i < len(p):
        c = p[i]
        if c == "\\" and i + 1 < len(p):
            n = p[i + 1]
            if n == "s":
                out.append(WS if inside else "[" + WS + "]")
            elif n == "S":
                assert not inside
                out.append("[^" + WS + "]")
            else:
                out.append(p[i:i + 2])
            i += 2
            continue
        if c == "[" and not inside:
            inside = True
        elif c == "]" and inside:
            inside = False
        out.append(c)
        i += 1
    return "".join(out)


GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
SEED_CODER = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+"
BAILING = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"
DSL_LETTERS = ("\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1f7dᾀ-ᾴᾶ-ᾼ\u1fbeῂ-ῄῆ-ῌῐ-\u1fd3ῖ-\u1fdbῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212a-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ"
               "\U00010400-\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2"
               "\U00010cc0-\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943]+")
BLOOM = r" ?[^(\s|.,!?…。，、।۔،)]+"
# GPT-4o and Tekken as the reference runs them: "a letter other than a-z" / "other than A-Z"
# instead of the original case classes (every non-ASCII letter is both; marks are neither)
CONTR = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
GPT4O = (r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+" + CONTR + "?"
         r"|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*" + CONTR + "?"
         r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
TEKKEN = (r"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+"
          r"|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*"
          r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# (expression, spells out non-ASCII characters)
PRE = {
    "gpt-2": [(GPT2, False)],
    "starcoder": [(r"\p{N}", False), (GPT2, False)],
    "smollm": [(r"\p{N}", False), (GPT2, False)],
    "llama-bpe": [(LLAMA3, False)],
    "qwen2": [(QWEN2, False)],
    "seed-coder": [(SEED_CODER, False)],
    "bailingmoe": [(BAILING, False)],
    "falcon": [(r"[\p{P}\$\+<=>\^~\|`]+", False), (GPT2, False), (r"[0-9][0-9][0-9]", False)],
    "default": [(r"[\p{P}\$\+<=>\^~\|]+", False), (GPT2, False), (r"\p{N}+", False),
                (r"[0-9][0-9][0-9]", False)],
    "deepseek-llm": [(r"[\r\n]", False), (DSL_LETTERS, True),
                     ("\\s?[!-/:-~！-／：-～‘-‟　-。]+", True), (r"\s+$", False),
                     ("[一-龥ࠀ-一가-퟿]+", True), (r"\p{N}+", False)],
    "deepseek-coder": [(r"[\r\n]", False), (r"\s?\p{L}+", False), (r"\s?\p{P}+", False),
                       ("[一-龥ࠀ-一가-퟿]+", True), (r"\p{N}", False)],
    "deepseek-v3": [(r"\p{N}{1,3}", False), ("[一-龥぀-ゟ゠-ヿ]+", True),
                    (r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+", False)],
    "gpt-4o": [(GPT4O, False)],
    "llama4": [(GPT4O, False)],
    "tekken": [(TEKKEN, False)],
    "bloom": [(BLOOM, True)],
    "viking": [(BLOOM, True), (r"\p{N}", False)],
}


def split(text, exprs):
    frags = [(0, len(text))]
    for pat, explicit in exprs:
        r = regex.compile(expand(pat))
        subject = "".join("\x0b" if (ord(c) > 0x7F and c in WS_SET) else c for c in text) \
            if explicit else text
        out = []
        for s, e in frags:
            gap = s
            for m in r.finditer(subject, s, e):
                if m.start() > gap:
                    out.append((gap, m.start()))
                out.append((m.start(), m.end()))
                gap = m.end()
            if gap < e:
                out.append((gap, e))
        frags = out
    return [text[s:e] for s, e in frags]


def assigned(c):
    return unicodedata.category(c) != "Cn"


def texts(peer_dir):
    out = []
    for path in sorted(glob.glob(os.path.join(peer_dir, "*.inp"))):
        with open(path, encoding="utf-8") as f:
            out += [t for t in f.read().split("\n__ggml_vocab_test__\n") if t]
    out += ["it's I'M we'Re they'VE you'll he'd", "a  b\t\tc \n\n d", "  \r\n  x", "1234567 89",
            "x\u00a0\u00a0y\u3000z", "ab\u0301c", "€100 ½ ٣٤", "a'", "' s", "''s", " \t\n",
            "中文字符 한국어 日本語カタカナ", "foo.bar,baz!qux?", "(x|y)", "Ǆǅ ΆΈ Ꙁ 𐐀", "\u0085a",
            "HelloWorld HTTPServer iPhone ÉcoleNormale XMLÉ ÀB aÀ", "don'T I'm/path//x\n/",
            "CamelCase's ABC'S éé'll"]
    alphabet = list("aZ09 .,'!?$+<=>^~|`\r\n\t-_()[]{}/\\\"AbCdsStT") + \
        ["é", "Ж", "中", "한", "ぁ", "カ", "٣", "½", "\u0301", "€", "😀", "\u00a0", "\u3000",
         "\u2003", "。", "，", "…", "।", "‘", "！", "Ａ", "ǅ", "𐐀", "\u0085", "\x0b", "\x1c"]
    rnd = random.Random(1234)
    for _ in range(400):
        out.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 24))))
    for _ in range(100):
        cps = []
        while len(cps) < rnd.randint(1, 16):
            c = chr(rnd.randint(0x20, 0x2FFFF))
            if assigned(c) and unicodedata.category(c) != "Cs":
                cps.append(c)
        out.append("".join(cps))
    return out


def main():
    dump, peer_dir = sys.argv[1], sys.argv[2]
    cases = texts(peer_dir)
    payload = "".join(t.encode("utf-8").hex() + "\n" for t in cases).encode()
    failures = 0
    for name, exprs in PRE.items():
        p = subprocess.run([dump, name], input=payload, capture_output=True, check=False)
        if p.returncode != 0:
            print("FAIL %s: pretok_dump exited %d: %s" % (name, p.returncode, p.stderr.decode()))
            failures += 1
            continue
        lines = p.stdout.decode().split("\n")
        bad = 0
        for i, t in enumerate(cases):
            want = split(t, exprs)
            got = [bytes.fromhex(h).decode("utf-8") for h in lines[i].split(" ")]
            if got != want:
                bad += 1
                if bad <= 3:
                    print("FAIL %s on %r\n  regex: %r\n  amlab: %r" % (name, t, want, got))
        failures += bad
        print("%s %s: %d texts, %d differ" % ("ok  " if not bad else "FAIL", name, len(cases), bad))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
