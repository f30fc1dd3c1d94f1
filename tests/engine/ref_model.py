"""ref_model.py: an independent numpy reference of the engine's transformer, for tests.

Reads a GGUF file with the `gguf` PyPI package (its reader and its dequantizers, not amlab's),
and runs llama / qwen2 / qwen3 / gemma3 forward passes in float32/float64 numpy, following the
published GGUF conventions (llama.cpp's): "normal" RoPE on adjacent pairs for llama, NeoX RoPE
(halves) for the others, Q/K RMS norms for qwen3 and gemma3, GeGLU (tanh GELU), post-norms,
embedding scale sqrt(n_embd) and sliding-window layers (attention.sliding_window_pattern, else
every 6th layer global; local RoPE base rope.freq_base_swa, else 10000) for gemma3, tied embeddings when output.weight is absent.
"""
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


class RefModel:
    def __init__(self, path):
        r = GGUFReader(path)
        self.fields = r.fields
        self.arch = self._meta("general.architecture")
        a = self.arch
        self.n_embd = int(self._meta(f"{a}.embedding_length"))
        self.n_layer = int(self._meta(f"{a}.block_count"))
        self.n_head = int(self._meta(f"{a}.attention.head_count"))
        self.n_head_kv = int(self._meta(f"{a}.attention.head_count_kv", self.n_head))
        self.head_dim = int(self._meta(f"{a}.attention.key_length", self.n_embd // self.n_head))
        self.n_rot = int(self._meta(f"{a}.rope.dimension_count", self.head_dim))
        self.eps = float(self._meta(f"{a}.attention.layer_norm_rms_epsilon", 1e-6))
        self.rope_base = float(self._meta(f"{a}.rope.freq_base", 10000.0))
        self.rope_scale = 1.0 / float(self._meta(f"{a}.rope.scaling.factor", 1.0))
        self.window = int(self._meta(f"{a}.attention.sliding_window", 0)) if a == "gemma3" else 0
        # local layers: a per-layer list of flags or a period (llama.cpp's 6 for gemma3 when
        # the file has neither), RoPE base of their own (10000 when absent)
        pattern = self._meta(f"{a}.attention.sliding_window_pattern", 6)
        if isinstance(pattern, (list, tuple, np.ndarray)):
            self.swa_flags = [bool(x) for x in pattern]
        else:
            p = int(pattern)
            self.swa_flags = [il % p < p - 1 for il in range(self.n_layer)]
        self.rope_base_swa = float(self._meta(f"{a}.rope.freq_base_swa", 10000.0))
        self.neox = a != "llama"
        self.t = {}
        for t in r.tensors:
            ne0 = int(t.shape[0])
            w = dequantize(t.data, t.tensor_type).astype(np.float32)
            self.t[t.name] = w.reshape(-1, ne0) if w.size != ne0 else w.reshape(ne0)
        self.vocab = self.t["token_embd.weight"].shape[0]
        self.out_w = self.t.get("output.weight", self.t["token_embd.weight"])
        self.reset()

    def _meta(self, key, default=None):
        f = self.fields.get(key)
        if f is None:
            if default is None:
                raise KeyError(key)
            return default
        return f.contents()

    def reset(self):
        self.k_cache = [[] for _ in range(self.n_layer)]
        self.v_cache = [[] for _ in range(self.n_layer)]
        self.n_pos = 0

    def _rms(self, x, w):
        x64 = x.astype(np.float64)
        y = x64 / np.sqrt(np.mean(x64 * x64, axis=-1, keepdims=True) + self.eps)
        return (y * w).astype(np.float32)

    def _rope(self, x, pos, base, scale):
        # x: [n, heads, hd]
        half = self.n_rot // 2
        inv = base ** (-2.0 * np.arange(half) / self.n_rot)
        if "rope_freqs.weight" in self.t:
            inv = inv / self.t["rope_freqs.weight"].astype(np.float64)
        ang = np.outer(np.asarray(pos, dtype=np.float64) * scale, inv)  # [n, half]
        c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        x = x.astype(np.float64).copy()
        if self.neox:
            a, b = x[..., :half].copy(), x[..., half:2 * half].copy()
            x[..., :half] = a * c - b * s
            x[..., half:2 * half] = a * s + b * c
        else:
            a, b = x[..., 0:2 * half:2].copy(), x[..., 1:2 * half:2].copy()
            x[..., 0:2 * half:2] = a * c - b * s
            x[..., 1:2 * half:2] = a * s + b * c
        return x.astype(np.float32)

    def _layer_is_swa(self, il):
        return self.window > 0 and self.swa_flags[il]

    def forward(self, tokens):
        """Append tokens to the cached sequence; return their logits [n, vocab] (float64)."""
        tok = np.asarray(tokens, dtype=np.int64)
        n = len(tok)
        pos = np.arange(self.n_pos, self.n_pos + n)
        H, KV, hd, E = self.n_head, self.n_head_kv, self.head_dim, self.n_embd
        gemma = self.arch == "gemma3"
        x = self.t["token_embd.weight"][tok].astype(np.float32)
        if gemma:
            x = x * np.float32(np.sqrt(np.float32(E)))
        for il in range(self.n_layer):
            p = f"blk.{il}."
            t = self.t
            xn = self._rms(x, t[p + "attn_norm.weight"])
            q = xn @ t[p + "attn_q.weight"].T
            k = xn @ t[p + "attn_k.weight"].T
            v = xn @ t[p + "attn_v.weight"].T
            if p + "attn_q.bias" in t:
                q = q + t[p + "attn_q.bias"]
                k = k + t[p + "attn_k.bias"]
                v = v + t[p + "attn_v.bias"]
            q = q.reshape(n, H, hd)
            k = k.reshape(n, KV, hd)
            v = v.reshape(n, KV, hd)
            if p + "attn_q_norm.weight" in t:
                q = self._rms(q, t[p + "attn_q_norm.weight"])
                k = self._rms(k, t[p + "attn_k_norm.weight"])
            swa = self._layer_is_swa(il)
            base = self.rope_base_swa if (gemma and swa) else self.rope_base
            scale = 1.0 if (gemma and swa) else self.rope_scale
            q = self._rope(q, pos, base, scale)
            k = self._rope(k, pos, base, scale)
            self.k_cache[il].append(k)
            self.v_cache[il].append(v)
            K = np.concatenate(self.k_cache[il]).astype(np.float64)  # [P, KV, hd]
            V = np.concatenate(self.v_cache[il]).astype(np.float64)
            P = K.shape[0]
            kpos = np.arange(P)
            mask = kpos[None, :] <= pos[:, None]
            if swa:
                mask &= kpos[None, :] > pos[:, None] - self.window
            g = H // KV
            out = np.empty((n, H, hd))
            for h in range(H):
                s = (q[:, h, :].astype(np.float64) @ K[:, h // g, :].T) / np.sqrt(hd)
                s = np.where(mask, s, -np.inf)
                s = np.exp(s - s.max(axis=1, keepdims=True))
                s /= s.sum(axis=1, keepdims=True)
                out[:, h, :] = s @ V[:, h // g, :]
            o = out.reshape(n, H * hd).astype(np.float32) @ t[p + "attn_output.weight"].T
            if gemma:
                o = self._rms(o, t[p + "post_attention_norm.weight"])
            x = x + o
            xn = self._rms(x, t[p + "ffn_norm.weight"])
            gate = (xn @ t[p + "ffn_gate.weight"].T).astype(np.float64)
            up = (xn @ t[p + "ffn_up.weight"].T).astype(np.float64)
            if gemma:
                act = 0.5 * gate * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (gate + 0.044715 * gate ** 3)))
            else:
                act = gate / (1.0 + np.exp(-gate))
            d = (act * up).astype(np.float32) @ t[p + "ffn_down.weight"].T
            if gemma:
                d = self._rms(d, t[p + "post_ffw_norm.weight"])
            x = x + d
        self.n_pos += n
        xn = self._rms(x, self.t["output_norm.weight"])
        return (xn @ self.out_w.T).astype(np.float64)

    def greedy(self, prompt, steps):
        self.reset()
        logits = self.forward(prompt)[-1]
        out = []
        for _ in range(steps):
            nxt = int(np.argmax(logits))
            out.append(nxt)
            logits = self.forward([nxt])[-1]
        return out
