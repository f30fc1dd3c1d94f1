"""peer_llamacpp.py: amlab's local engine against llama.cpp, through llama-cpp-python (ctest).

  peer_llamacpp.py AMLAB PROBE MODEL

AMLAB is the amlab binary (for `amlab tokenize`), PROBE is engine_probe (tests/engine/
engine_probe.c: per-position logits, greedy ids), MODEL the embedded SmolLM2-135M Q4_1 file.
On the same file, llama.cpp and amlab must give:

  tokens   the same ids for varied texts (prose, code, unicode, numbers, whitespace runs, a
           chat-formatted prompt), special-token strings as text; the chat prompts also with
           special tokens parsed
  logits   over the first 256 tokens of tests/engine/ppl_text.txt: top-1 agreement >= 95%,
           mean NMSE <= 5e-3, perplexities within 2%. llama.cpp quantizes activations to 8 bits
           (Q8_1) for its Q4_1 dot products where amlab keeps them wider, so the two differ a
           little; the numbers are printed
  greedy   for chat prompts rendered with the model's own ChatML template (jinja2 here), 32
           greedy tokens each (up to an end-of-turn token): the agreeing prefix is printed; the
           first 8 must agree, unless the first divergence is a near tie, both engines ranking
           the two tokens within TIE_MARGIN (0.5) of each other. The 8-bit activations flip
           such ties: for "Write a short poem about the sea." llama.cpp itself picks one token
           when it evaluates the prefix as a batch and the other when it goes token by token;
           there, and for the Spanish/German prompt, amlab picks what the float numpy
           reference (ref_model.py) picks

Environment: AMLAB_LLAMACPP_PYTHON, a python that has llama_cpp (fails if it has not). Without
it: the virtual environment $AMLAB_SOURCE_DIR/build/llamacpp-venv (made by
tests/engine/peer_llamacpp_setup.sh), else this python if it has llama_cpp. Exits 77 (ctest:
skipped) when none has."""
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
THREADS = 2
N_LOGITS = 256
N_GREEDY = 32
MIN_GREEDY_PREFIX = 8
# A greedy divergence is a near tie when each engine ranks the two tokens within this of each
# other: about the largest change in a top-token gap that llama.cpp's 8-bit activations cause
# over the fixed text (the logits check prints it: median 0.07, max 0.47 on SmolLM2 Q4_1).
TIE_MARGIN = 0.5
FAILURES = []
GREEDY_AGREE = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg, flush=True)
    if not cond:
        FAILURES.append(msg)


def run(args, stdin=None):
    r = subprocess.run(args, input=stdin, capture_output=True, encoding="utf-8")
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed ({r.returncode}): {r.stderr}")
    return r.stdout


def amlab_tokenize(amlab, model, text, special=False):
    args = [amlab, "tokenize", "--model", model] + (["--parse-special"] if special else [])
    return [int(x) for x in run(args, stdin=text).split()]


def write_ids(d, ids):
    path = os.path.join(d, "ids.txt")
    with open(path, "w") as f:
        f.write(" ".join(map(str, ids)))
    return path


TEXTS = [
    ("prose", "The quick brown fox jumps over the lazy dog. It wasn't the first time, "
     "and \"probably\" not the last; the dog (asleep) didn't care."),
    ("code", "def add(a, b):\n    return a + b\n\nfor i in range(10):\n"
     "\tprint(f\"{i:>3}\", end='')\nint main(void) { return x->y[0] != 0 && z <= 1; }\n"),
    ("unicode", "Grüße aus Köln! Ça va? naïve café — “quoted” ‘text’ … "
     "Привет мир. 你好，世界。こんにちは 안녕하세요 🙂👍🏽 ∑∫√π ≠ ∞"),
    ("numbers", "3.14159 2,718,281 1e-9 -42 0x1F 007 12345678901234567890 $19.99 50% 1/3 v2.0.1"),
    ("whitespace", "a  b   c    d\n\n\nnew   paragraph \t\t tabs\r\n  \n    indented   \n\n"
     "trailing   "),
    ("chat", "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there!<|im_end|>\n"
     "<|im_start|>assistant\n"),
    ("single", "x"),
    ("leading space", " leading space and a final newline\n"),
]

CHATS = [
    [{"role": "user", "content": "Write a short poem about the sea."}],
    [{"role": "system", "content": "You are a helpful assistant."},
     {"role": "user", "content": "Explain what a CPU cache is, in two sentences."}],
    [{"role": "user", "content": "List three fruits and their colours."}],
    [{"role": "user", "content": "Write a Python function that reverses a string."}],
    [{"role": "user", "content": "Translate 'good morning' into Spanish and German."}],
    [{"role": "user", "content": "What is the capital of France?"},
     {"role": "assistant", "content": "Paris."},
     {"role": "user", "content": "And of Italy? Tell me something about it."}],
]


def test_tokens(llm, amlab, model, ppl_text):
    for label, text in TEXTS + [("ppl_text.txt", ppl_text)]:
        got = amlab_tokenize(amlab, model, text)
        want = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        check(got == want, f"tokenize {label}: {len(got)} ids equal llama.cpp's"
              + ("" if got == want else f"\n  amlab     {got}\n  llama.cpp {want}"))


def perplexity(logits, ids):
    lg = logits[:-1]
    m = lg.max(1, keepdims=True)
    lse = np.log(np.exp(lg - m).sum(1)) + m[:, 0]
    nll = lse - lg[np.arange(len(lg)), ids[1:]]
    return float(np.exp(nll.mean()))


def test_logits(llm, amlab, probe, model, ppl_text):
    ids = amlab_tokenize(amlab, model, ppl_text)[:N_LOGITS]
    check(len(ids) == N_LOGITS, f"the fixed text has {len(ids)} >= {N_LOGITS} tokens")
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "logits.bin")
        run([probe, "logits", model, write_ids(d, ids), out, str(THREADS)])
        got = np.fromfile(out, dtype=np.float32).reshape(len(ids), -1).astype(np.float64)
    llm.reset()
    llm.eval(ids)
    want = np.array(llm.scores[:len(ids)], dtype=np.float64)
    check(got.shape == want.shape, f"logits shape {got.shape} equals llama.cpp's {want.shape}")
    nmse = ((got - want) ** 2).sum(1) / (want ** 2).sum(1)
    top1 = float((got.argmax(1) == want.argmax(1)).mean())
    check(top1 >= 0.95, f"logits over {len(ids)} positions: top-1 agreement {top1:.4f} >= 0.95")
    check(nmse.mean() <= 5e-3, f"logits: mean NMSE {nmse.mean():.3g} "
          f"(median {np.median(nmse):.3g}, max {nmse.max():.3g}) <= 5e-3")
    # How far llama.cpp's rounding moves the gap between amlab's top token and its next four:
    # the scale of the near ties that greedy decoding may resolve differently (TIE_MARGIN).
    top = np.argsort(-got, 1)[:, :5]
    rows = np.arange(len(ids))[:, None]
    gap_a = got[rows, top[:, :1]] - got[rows, top[:, 1:]]
    gap_l = want[rows, top[:, :1]] - want[rows, top[:, 1:]]
    swing = np.abs(gap_a - gap_l)
    print(f"info top-1 vs top-2..5 gap change: median {np.median(swing):.3f}, "
          f"99th percentile {np.percentile(swing, 99):.3f}, max {swing.max():.3f}", flush=True)
    pa, pl = perplexity(got, ids), perplexity(want, ids)
    check(abs(pa - pl) / pl <= 0.02, f"perplexity amlab {pa:.4f}, llama.cpp {pl:.4f}: "
          f"{100 * (pa - pl) / pl:+.2f}% within 2%")


def amlab_last_logits(probe, model, ids):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "logits.bin")
        run([probe, "logits", model, write_ids(d, ids), out, str(THREADS)])
        return np.fromfile(out, dtype=np.float32).reshape(len(ids), -1)[-1].astype(np.float64)


def llama_last_logits(llm, ids):
    llm.reset()
    llm.eval(ids)
    return np.array(llm.scores[len(ids) - 1], dtype=np.float64)


def test_greedy(llm, amlab, probe, model):
    import jinja2
    src = llm.metadata["tokenizer.chat_template"]
    template = jinja2.Environment().from_string(src)
    eos = {llm.token_eos()}
    for i, conv in enumerate(CHATS):
        prompt = template.render(messages=conv, add_generation_prompt=True)
        ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        a_ids = amlab_tokenize(amlab, model, prompt, special=True)
        check(a_ids == ids,
              f"chat {i}: prompt with special tokens, {len(ids)} ids equal llama.cpp's")
        with tempfile.TemporaryDirectory() as d:
            out = run([probe, "greedy", model, write_ids(d, ids), str(N_GREEDY), str(THREADS)])
        a = [int(x) for x in out.split()]
        llm.reset()
        b = []
        for tok in llm.generate(ids, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
            b.append(int(tok))
            if len(b) == N_GREEDY:
                break
        # past an end-of-turn token the continuation means nothing: compare up to it
        for seq in (a, b):
            end = next((k for k, t in enumerate(seq) if t in eos), None)
            if end is not None:
                del seq[end + 1:]
        agree = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        same = a == b
        GREEDY_AGREE.append((agree, len(b), same))
        text = llm.detokenize(b).decode("utf-8", "replace")
        msg = (f"chat {i}: greedy, {agree} of {len(b)} tokens agree before the first divergence"
               + (" (identical)" if same else "") + f"; llama.cpp: {text!r}")
        if same or agree >= MIN_GREEDY_PREFIX:
            check(True, msg)
            continue
        # An early divergence passes only at a near tie: both engines, given the same prefix,
        # rank the two tokens within TIE_MARGIN of each other. The margins are taken from
        # batch evaluations of the prefix.
        ctx = ids + a[:agree]
        la, ll = amlab_last_logits(probe, model, ctx), llama_last_logits(llm, ctx)
        ma, ml = la[a[agree]] - la[b[agree]], ll[b[agree]] - ll[a[agree]]
        check(max(abs(ma), abs(ml)) <= TIE_MARGIN,
              msg + f" (< {MIN_GREEDY_PREFIX}): a near tie? amlab's token {a[agree]} leads "
              f"llama.cpp's {b[agree]} by {ma:+.3f} in amlab's logits; llama.cpp's leads by "
              f"{ml:+.3f} in llama.cpp's (both must be within {TIE_MARGIN})"
              f"\n  amlab     {a}\n  llama.cpp {b}")
    print("greedy summary: agreeing prefixes "
          + ", ".join(f"{g[0]}/{g[1]}" for g in GREEDY_AGREE)
          + f"; {sum(g[2] for g in GREEDY_AGREE)} of {len(GREEDY_AGREE)} continuations identical "
          f"(up to and including the end-of-turn token)", flush=True)


def has_llama_cpp(py):
    return os.access(py, os.X_OK) and subprocess.run(
        [py, "-c", "import llama_cpp, numpy, jinja2"], capture_output=True).returncode == 0


def find_python():
    """The python to run the checks in: one where llama_cpp imports, or None."""
    if os.environ.get("PEER_LLAMACPP_CHILD"):
        return sys.executable
    chosen = os.environ.get("AMLAB_LLAMACPP_PYTHON")
    if chosen:  # asked for by name: not usable is an error, not a skip
        if not has_llama_cpp(chosen):
            sys.exit(f"AMLAB_LLAMACPP_PYTHON={chosen}: cannot import llama_cpp, numpy, jinja2")
        return chosen
    src = os.environ.get("AMLAB_SOURCE_DIR", os.path.join(HERE, "..", ".."))
    venv = os.path.join(src, "build", "llamacpp-venv", "bin", "python")
    return next((py for py in (venv, sys.executable) if has_llama_cpp(py)), None)


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: peer_llamacpp.py AMLAB PROBE MODEL")
    py = find_python()
    if py is None:
        print("skipped: no python with llama_cpp; run tests/engine/peer_llamacpp_setup.sh "
              "(or set AMLAB_LLAMACPP_PYTHON)", flush=True)
        sys.exit(77)
    if not os.environ.get("PEER_LLAMACPP_CHILD"):
        env = dict(os.environ, PEER_LLAMACPP_CHILD="1")
        sys.exit(subprocess.run([py, os.path.abspath(__file__), *sys.argv[1:]], env=env).returncode)

    import llama_cpp

    amlab, probe, model = sys.argv[1:]
    print(f"llama-cpp-python {llama_cpp.__version__} ({py}), {THREADS} threads", flush=True)
    llm = llama_cpp.Llama(model_path=model, n_ctx=512, n_batch=512, n_threads=THREADS,
                          n_threads_batch=THREADS, logits_all=True, verbose=False)
    with open(os.path.join(HERE, "ppl_text.txt"), encoding="utf-8") as f:
        ppl_text = f.read()
    test_tokens(llm, amlab, model, ppl_text)
    test_logits(llm, amlab, probe, model, ppl_text)
    test_greedy(llm, amlab, probe, model)
    llm.close()
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
