"""test_model_ref.py: the engine's numbers against independent code (run by ctest).

  test_model_ref.py quant   PROBE MODEL   dequantization of every tensor type, bit for bit,
                                          against gguf.quants (PyPI gguf): random blocks and
                                          the embedded model's tensors
  test_model_ref.py arch    PROBE MODEL   small random-weight GGUF models of every architecture
                                          (written here with gguf.GGUFWriter) against
                                          ref_model.py: logits NMSE, top-1, greedy tokens
  test_model_ref.py smollm2 PROBE MODEL   the embedded model over 512 positions: NMSE <= 5e-4,
                                          top-1 >= 99%, greedy 64 tokens identical,
                                          perplexity within 0.5%
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT
from gguf.quants import dequantize, quantize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_model  # noqa: E402

FAILURES = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg, flush=True)
    if not cond:
        FAILURES.append(msg)


def run(args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{args[:2]} failed ({r.returncode}): {r.stderr}")
    return r.stdout


# ---------------------------------------------------------------------------------------------
# Quantized blocks: simple types through gguf.quants.quantize, K types as random bytes with
# finite, moderate half-float scales written into their scale fields.

BLOCK = {QT.F32: (1, 4), QT.F16: (1, 2), QT.BF16: (1, 2), QT.Q4_0: (32, 18), QT.Q4_1: (32, 20),
         QT.Q5_0: (32, 22), QT.Q5_1: (32, 24), QT.Q8_0: (32, 34), QT.Q4_K: (256, 144),
         QT.Q5_K: (256, 176), QT.Q6_K: (256, 210)}


def half_bytes(rng, n, lo, hi):
    v = (rng.uniform(lo, hi, n) * rng.choice([-1, 1], n)).astype(np.float16)
    return v.view(np.uint8).reshape(n, 2)


def random_blocks(rng, qt, n_blocks, scale=1.0, special=False):
    be, bb = BLOCK[qt]
    if qt in (QT.Q4_K, QT.Q5_K, QT.Q6_K):
        raw = rng.integers(0, 256, size=(n_blocks, bb), dtype=np.uint8)
        if qt == QT.Q6_K:
            raw[:, 208:210] = half_bytes(rng, n_blocks, 1e-4 * scale, 2e-3 * scale)
        else:
            raw[:, 0:2] = np.abs(half_bytes(rng, n_blocks, 1e-4 * scale, 2e-3 * scale).view(np.float16)).view(np.uint8)
            raw[:, 2:4] = np.abs(half_bytes(rng, n_blocks, 1e-4 * scale, 2e-3 * scale).view(np.float16)).view(np.uint8)
        return raw
    x = (rng.standard_normal(n_blocks * be) * scale).astype(np.float32)
    x[rng.integers(0, x.size, size=max(1, x.size // 50))] *= 8  # outliers
    if qt == QT.F32:
        return x.view(np.uint8)
    if qt in (QT.F16, QT.BF16) and special:
        # every bit pattern class: subnormals, infinities, NaNs, signed zeros
        return np.concatenate([quantize(x, qt).view(np.uint16),
                               rng.integers(0, 65536, size=x.size, dtype=np.uint16),
                               np.arange(0, 65536, 97, dtype=np.uint16)]).view(np.uint8)
    return quantize(x.reshape(-1, be * 8 if be == 1 else be), qt).reshape(-1)


def quantize_matrix(rng, qt, rows, cols, scale):
    """A weight matrix of type qt: bytes (rows, row_bytes) for the writer."""
    be, bb = BLOCK[qt]
    nb = rows * cols // be
    raw = np.asarray(random_blocks(rng, qt, nb, scale)).view(np.uint8)
    return raw.reshape(rows, cols // be * bb)


def test_quant(probe, model):
    rng = np.random.default_rng(1234)
    with tempfile.TemporaryDirectory() as d:
        for qt in BLOCK:
            blocks = np.asarray(random_blocks(rng, qt, 64 if BLOCK[qt][0] > 1 else 4096, special=True)).view(np.uint8)
            inp, out = os.path.join(d, "in.bin"), os.path.join(d, "out.bin")
            blocks.tofile(inp)
            run([probe, "dequant", str(int(qt)), inp, out])
            got = np.fromfile(out, dtype=np.float32)
            want = dequantize(blocks.reshape(-1), qt).astype(np.float32).reshape(-1)
            same = got.shape == want.shape and np.array_equal(got.view(np.uint32), want.view(np.uint32))
            check(same, f"dequant {qt.name}: {want.size} values bit for bit vs gguf.quants")
        # the embedded model's tensors, one of each type (and a few more)
        r = gguf.GGUFReader(model)
        seen = {}
        for t in r.tensors:
            seen.setdefault(t.tensor_type, []).append(t)
        for qt, ts in seen.items():
            for t in ts[:2]:
                out = os.path.join(d, "t.bin")
                run([probe, "tensor", model, t.name, out])
                got = np.fromfile(out, dtype=np.float32)
                want = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1)
                check(np.array_equal(got.view(np.uint32), want.view(np.uint32)),
                      f"dequant {t.name} ({qt.name}, {want.size} values) bit for bit")


# ---------------------------------------------------------------------------------------------
# Random-weight models


ARCHS = {
    # arch: (types for attention, ffn, embedding), extras
    "llama": dict(types=(QT.Q4_0, QT.Q8_0, QT.F16), tied=False),
    "qwen2": dict(types=(QT.Q5_0, QT.Q4_1, QT.BF16), tied=True),
    "qwen3": dict(types=(QT.Q4_K, QT.Q6_K, QT.Q8_0), tied=True),
    "gemma3": dict(types=(QT.Q5_K, QT.Q8_0, QT.F32), tied=True),
}


def write_model(path, arch, seed, drop=None, bad_shape=None, local_keys=False):
    rng = np.random.default_rng(seed)
    spec = ARCHS[arch]
    E, H, KV, hd, F, V = 256, 4, 2, 64, 512, 512
    L = 6 if arch == "gemma3" else 2
    w = gguf.GGUFWriter(path, arch)
    w.add_block_count(L)
    w.add_embedding_length(E)
    w.add_feed_forward_length(F)
    w.add_head_count(H)
    w.add_head_count_kv(KV)
    w.add_key_length(hd)
    w.add_value_length(hd)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(10000.0 if arch != "gemma3" else 1000000.0)
    w.add_context_length(2048)
    if arch == "gemma3":
        w.add_sliding_window(8)
        if local_keys:
            # which layers are local and their RoPE base, from the file instead of the
            # defaults (every 6th layer global, base 10000)
            w.add_array("gemma3.attention.sliding_window_pattern",
                        [True, False, True, True, False, True])
            w.add_float32("gemma3.rope.freq_base_swa", 20000.0)
    att_t, ffn_t, emb_t = spec["types"]

    def mat(name, qt, rows, cols, scale):
        if name == drop:
            return
        if name == bad_shape:
            cols = cols * 2
        data = quantize_matrix(rng, qt, rows, cols, scale)
        if qt == QT.F32:
            w.add_tensor(name, data.view(np.float32).reshape(rows, cols))
        else:
            w.add_tensor(name, data, raw_dtype=qt)

    def vec(name, n, mean=1.0, sd=0.1):
        w.add_tensor(name, (mean + sd * rng.standard_normal(n)).astype(np.float32))

    mat("token_embd.weight", emb_t, V, E, 1.0)
    if not spec["tied"]:
        mat("output.weight", QT.Q8_0, V, E, 0.5)
    vec("output_norm.weight", E)
    s_in = 1.0 / np.sqrt(E)
    for il in range(L):
        p = f"blk.{il}."
        vec(p + "attn_norm.weight", E)
        vec(p + "ffn_norm.weight", E)
        mat(p + "attn_q.weight", att_t, H * hd, E, s_in * 2)
        mat(p + "attn_k.weight", att_t, KV * hd, E, s_in * 2)
        mat(p + "attn_v.weight", att_t, KV * hd, E, s_in)
        mat(p + "attn_output.weight", att_t, E, H * hd, 1.0 / np.sqrt(H * hd))
        mat(p + "ffn_gate.weight", ffn_t, F, E, s_in)
        mat(p + "ffn_up.weight", ffn_t, F, E, s_in)
        mat(p + "ffn_down.weight", ffn_t, E, F, 1.0 / np.sqrt(F))
        if arch == "qwen2":
            vec(p + "attn_q.bias", H * hd, 0.0, 0.1)
            vec(p + "attn_k.bias", KV * hd, 0.0, 0.1)
            vec(p + "attn_v.bias", KV * hd, 0.0, 0.1)
        if arch in ("qwen3", "gemma3"):
            vec(p + "attn_q_norm.weight", hd)
            vec(p + "attn_k_norm.weight", hd)
        if arch == "gemma3":
            vec(p + "post_attention_norm.weight", E)
            vec(p + "post_ffw_norm.weight", E)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return V


def compare(probe, model, ids, ref, label, threads="2", steps=64, min_top1=0.99, ppl=False):
    with tempfile.TemporaryDirectory() as d:
        idf, out = os.path.join(d, "ids.txt"), os.path.join(d, "logits.bin")
        with open(idf, "w") as f:
            f.write(" ".join(map(str, ids)))
        run([probe, "logits", model, idf, out, threads])
        got = np.fromfile(out, dtype=np.float32).reshape(len(ids), -1).astype(np.float64)
        ref.reset()
        want = ref.forward(ids)
        nmse = ((got - want) ** 2).sum(1) / (want ** 2).sum(1)
        top1 = float((got.argmax(1) == want.argmax(1)).mean())
        check(nmse.mean() <= 5e-4, f"{label}: logits NMSE {nmse.mean():.3g} (max {nmse.max():.3g}) over {len(ids)} positions <= 5e-4")
        check(top1 >= min_top1, f"{label}: top-1 agreement {top1:.4f} >= {min_top1}")
        if ppl:
            def perplexity(lg):
                lg = lg[:-1]
                lse = np.log(np.exp(lg - lg.max(1, keepdims=True)).sum(1)) + lg.max(1)
                nll = lse - lg[np.arange(len(lg)), ids[1:]]
                return float(np.exp(nll.mean()))
            pg, pw = perplexity(got), perplexity(want)
            check(abs(pg - pw) / pw <= 0.005, f"{label}: perplexity {pg:.4f} vs reference {pw:.4f} within 0.5%")
        if steps:
            prompt = ids[:16]
            g = [int(x) for x in run([probe, "greedy", model, _write(d, prompt), str(steps), threads]).split()]
            r = ref.greedy(prompt, steps)
            check(g == r, f"{label}: greedy {steps} tokens identical" + ("" if g == r else f"\n  engine {g}\n  ref    {r}"))


def _write(d, ids):
    p = os.path.join(d, "prompt.txt")
    with open(p, "w") as f:
        f.write(" ".join(map(str, ids)))
    return p


def test_arch(probe, _model):
    with tempfile.TemporaryDirectory() as d:
        # malformed models are refused with the file and the tensor named
        for kind, tensor in [("drop", "blk.1.ffn_up.weight"), ("bad_shape", "blk.0.attn_k.weight")]:
            path = os.path.join(d, f"broken-{kind}.gguf")
            write_model(path, "llama", 1, **{kind: tensor})
            idf = os.path.join(d, "ids.txt")
            with open(idf, "w") as f:
                f.write("1 2 3")
            r = subprocess.run([probe, "logits", path, idf, os.path.join(d, "o.bin")],
                               capture_output=True, text=True)
            check(r.returncode != 0 and tensor in r.stderr and path in r.stderr,
                  f"model with {kind} {tensor} refused: {r.stderr.strip()}")
        for i, arch in enumerate(ARCHS):
            path = os.path.join(d, f"{arch}.gguf")
            V = write_model(path, arch, 100 + i)
            ref = ref_model.RefModel(path)
            rng = np.random.default_rng(7 + i)
            ids = [int(x) for x in rng.integers(0, V, 48)]
            compare(probe, path, ids, ref, f"{arch} random model", steps=64)
            # the generic (scalar) kernels give the same answers too
            with tempfile.TemporaryDirectory() as d2:
                idf, out = os.path.join(d2, "ids.txt"), os.path.join(d2, "l.bin")
                with open(idf, "w") as f:
                    f.write(" ".join(map(str, ids[:24])))
                run([probe, "logits", path, idf, out, "1", "generic"])
                got = np.fromfile(out, dtype=np.float32).reshape(24, -1)
                ref.reset()
                want = ref.forward(ids[:24])
                nmse = (((got - want) ** 2).sum(1) / (want ** 2).sum(1)).mean()
                check(nmse <= 5e-4, f"{arch} random model, scalar kernels: NMSE {nmse:.3g}")
        # Gemma 3's local layers and local RoPE base as the file states them
        path = os.path.join(d, "gemma3-local-keys.gguf")
        V = write_model(path, "gemma3", 200, local_keys=True)
        ref = ref_model.RefModel(path)
        check(ref.swa_flags == [True, False, True, True, False, True] and ref.rope_base_swa == 20000.0,
              "gemma3 file with sliding_window_pattern and rope.freq_base_swa written")
        ids = [int(x) for x in np.random.default_rng(9).integers(0, V, 48)]
        compare(probe, path, ids, ref, "gemma3 random model with local-layer keys", steps=32)


HERE = os.path.dirname(os.path.abspath(__file__))


def amlab(*args, stdin=None):
    r = subprocess.run([os.environ["AMLAB_BIN"], *args], input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"amlab {args[0]} failed ({r.returncode}): {r.stderr}")
    return r.stdout


def tokenize(model, text):
    return [int(x) for x in amlab("tokenize", "--model", model, stdin=text).split()]


def test_smollm2(probe, model):
    # a fixed English text (tests/engine/ppl_text.txt, 561 tokens), tokenized by amlab's
    # tokenizer (itself checked against llama.cpp's token ids in the gguf tests)
    with open(os.path.join(HERE, "ppl_text.txt"), encoding="utf-8") as f:
        ids = tokenize(model, f.read())[:512]
    check(len(ids) == 512, f"the fixed text has {len(ids)} >= 512 tokens")
    ref = ref_model.RefModel(model)
    compare(probe, model, ids, ref, "SmolLM2-135M Q4_1, fixed text", steps=64, ppl=True)
    # random token ids: flatter, harder distributions
    rids = [int(x) for x in np.random.default_rng(2024).integers(0, 49152, 96)]
    compare(probe, model, rids, ref, "SmolLM2-135M Q4_1, random ids", steps=0, min_top1=0.98)


def test_cli(probe, model):
    """amlab logprob against the reference; the chat template against jinja2 on SmolLM2's own
    Jinja template."""
    ref = ref_model.RefModel(model)
    for ctx, cont in [("The capital of France is", " Paris"),
                      ("Once upon a time, there was a", " little girl who lived in a village"),
                      ("def add(a, b):\n    return", " a + b")]:
        out = amlab("logprob", "--model", model, "--context", ctx, "--continuation", cont, "--threads", "2").split()
        got, n = float(out[0]), int(out[1])
        c_ids, k_ids = tokenize(model, ctx), tokenize(model, cont)
        ref.reset()
        lg = ref.forward(c_ids + k_ids)
        want = 0.0
        for i, t in enumerate(k_ids):
            row = lg[len(c_ids) - 1 + i]
            want += float(row[t] - (np.log(np.exp(row - row.max()).sum()) + row.max()))
        check(n == len(k_ids), f"logprob token count {n} == {len(k_ids)}")
        check(abs(got - want) <= 1e-3 * max(1.0, abs(want)),
              f"logprob {ctx!r} + {cont!r}: {got:.5f} vs reference {want:.5f}")
    # amlab generate: usage errors exit 2, failures exit 1 naming the problem, seeds reproduce
    def gen(*args):
        return subprocess.run([os.environ["AMLAB_BIN"], "generate", *args], capture_output=True, text=True)
    r = gen("--prompt", "hi")
    check(r.returncode == 2 and "--model" in r.stderr, f"generate without --model: exit {r.returncode}")
    r = gen("--model", model, "--prompt", "hi", "--top-p", "3")
    check(r.returncode == 2 and "top-p" in r.stderr, f"generate --top-p 3: exit {r.returncode}")
    r = gen("--model", "/nonexistent/m.gguf", "--prompt", "hi")
    check(r.returncode == 1 and "/nonexistent/m.gguf" in r.stderr, f"generate with a missing model: exit {r.returncode}")
    args = ["--model", model, "--prompt", "Name a fruit.", "--samples", "3", "--seed", "4",
            "--temperature", "1.2", "--max-tokens", "6", "--threads", "2"]
    a, b = gen(*args), gen(*args)
    check(a.returncode == 0 and a.stdout == b.stdout and a.stdout.count("--- sample") == 3,
          f"generate: 3 samples, the same seed twice gives the same text: {a.stdout!r}")
    samples = [blk.split("\n", 1)[1] for blk in a.stdout.split("--- sample ")[1:]]
    check(len(set(samples)) > 1, "generate: the 3 samples (seeds 4, 5, 6) are not all equal")

    import jinja2
    r = gguf.GGUFReader(model)
    src = r.fields["tokenizer.chat_template"].contents()
    tpl = jinja2.Environment().from_string(src)
    convs = [
        [{"role": "user", "content": "Hi there"}],
        [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"},
         {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Bye\nnow"}],
    ]
    import json
    with tempfile.TemporaryDirectory() as d:
        for i, conv in enumerate(convs):
            path = os.path.join(d, "chat.json")
            with open(path, "w") as f:
                json.dump(conv, f)
            got = run([probe, "chat", model, path])
            want = tpl.render(messages=conv, add_generation_prompt=True)
            check(got == want, f"ChatML rendering {i} equals jinja2 on SmolLM2's template"
                  + ("" if got == want else f"\n  got  {got!r}\n  want {want!r}"))


def test_gemma3(probe, _model):
    """The real Gemma 3 270M (Q4_K_M: Q4_K, Q5_0, Q6_K, Q8_0 tensors, 262k vocabulary) over 560
    tokens of the fixed text, past its 512-token sliding window, when the file is present (it
    is not part of the default setup): exit 77 (skipped) otherwise."""
    src = os.environ.get("AMLAB_SOURCE_DIR", os.path.join(HERE, "..", ".."))
    path = os.path.join(os.environ.get("AMLAB_MODELS_DIR", os.path.join(src, "models")),
                        "gemma-3-270m-q4_k_m.gguf")
    if not os.path.exists(path):
        print(f"skipped: {path} is not present")
        sys.exit(77)
    with open(os.path.join(HERE, "ppl_text.txt"), encoding="utf-8") as f:
        ids = [2] + tokenize(path, f.read())  # <bos>: the tokenizer asks for one
    check(len(ids) > 512, f"{len(ids)} tokens pass the 512-token window")
    compare(probe, path, ids, ref_model.RefModel(path), "Gemma 3 270M Q4_K_M", steps=32, ppl=True)


def main():
    mode, probe, model = sys.argv[1], sys.argv[2], sys.argv[3]
    {"quant": test_quant, "arch": test_arch, "smollm2": test_smollm2, "cli": test_cli,
     "gemma3": test_gemma3}[mode](probe, model)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
