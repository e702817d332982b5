"""A lean decoder for Llama-family models (Llama incl. 3.x, Mistral, Qwen2, SmolLM2): plain tensors, static KV cache.

Why: on a CPU, transformers' module stack costs more Python per token than the matrix products of a small model
(SmolLM2-135M: 30 layers of a dozen modules each, plus generic cache and mask bookkeeping), and loading it
imports transformers' whole model-loading machinery (≈ 1–2 s here). This runs the same arithmetic — RMSNorm in
float32, rotary embeddings, grouped-query attention through `scaled_dot_product_attention`, SwiGLU — with q/k/v
and gate/up fused into one matrix product each and the KV cache allocated once for the whole reply, straight from
the safetensors files. tests/test_lean_llama.py checks it against transformers' own implementation of each
architecture; a folder it does not cover exactly goes to transformers instead (`unsupported()` says why).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: config.json model types whose decoder is exactly the one below.
ARCHITECTURES = ("llama", "mistral", "qwen2")
#: Rotary embedding variants computed exactly as transformers does.
ROPE_TYPES = ("default", "linear", "llama3")


def unsupported(folder: Path) -> str | None:
    """Why this folder's model cannot run here (None when it can)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"config.json unreadable: {exc}"
    if config.get("model_type") not in ARCHITECTURES:
        return f"model_type {config.get('model_type')!r} is not one of {', '.join(ARCHITECTURES)}"
    if config.get("hidden_act", "silu") != "silu":
        return f"hidden_act {config['hidden_act']!r}"
    rope = _rope(config)
    if rope["rope_type"] not in ROPE_TYPES:
        return f"rope type {rope['rope_type']!r}"
    if rope.get("partial_rotary_factor", 1.0) != 1.0:
        return "partial rotary embeddings"
    if config.get("quantization_config"):
        return "quantized weights"
    if config.get("mlp_bias"):
        return "mlp_bias"
    if config.get("sliding_window") and config.get("use_sliding_window", True):
        return "sliding-window attention"
    if not _weight_files(folder):
        return "no safetensors weights"
    return None


def _rope(config: dict[str, Any]) -> dict[str, Any]:
    """Rotary parameters from transformers 5's rope_parameters or the older rope_theta / rope_scaling."""
    parameters = {**(config.get("rope_scaling") or {}), **(config.get("rope_parameters") or {})}
    parameters.setdefault("rope_theta", config.get("rope_theta", 10000.0))
    parameters["rope_type"] = parameters.get("rope_type") or parameters.get("type") or "default"
    return parameters


def _inverse_frequencies(rope: dict[str, Any], head_dim: int) -> Any:
    """transformers' inv_freq for the default, linear and llama3 (Llama 3.1/3.2) rope types."""
    import torch

    dims = torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim
    inv_freq = 1.0 / float(rope["rope_theta"]) ** dims
    if rope["rope_type"] == "linear":
        return inv_freq / rope["factor"]
    if rope["rope_type"] == "llama3":
        factor, low, high = rope["factor"], rope["low_freq_factor"], rope["high_freq_factor"]
        context = rope["original_max_position_embeddings"]
        wavelength = 2 * math.pi / inv_freq
        scaled = torch.where(wavelength > context / low, inv_freq / factor, inv_freq)
        smooth = (context / wavelength - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelength < context / high) * ~(wavelength > context / low)
        return torch.where(medium, smoothed, scaled)
    return inv_freq


def _weight_files(folder: Path) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return [folder / shard for shard in shards]
    single = folder / "model.safetensors"
    return [single] if single.is_file() else []


@dataclass
class KVCache:
    """Keys and values of every layer, [layers, batch, kv_heads, capacity, head_dim], filled up to `length`."""

    keys: Any
    values: Any
    length: int = 0


@dataclass
class _Layer:
    input_norm: Any
    qkv: Any
    qkv_bias: Any
    out: Any
    out_bias: Any
    post_norm: Any
    gate_up: Any
    down: Any


class LeanLlama:
    """The decoder's weights and its forward pass; build it with `LeanLlama.load(folder, dtype, device)`."""

    def __init__(self, config: dict[str, Any], weights: dict[str, Any], dtype: Any, device: Any) -> None:
        import torch

        def get(name: str) -> Any:
            return weights[name].to(device=device, dtype=dtype)

        def cat(*names: str) -> Any:
            parts = [weights.get(n) for n in names]
            if any(p is None for p in parts):
                return None
            return torch.cat(parts).to(device=device, dtype=dtype).contiguous()

        self.dtype, self.device = dtype, device
        self.hidden = config["hidden_size"]
        self.heads = config["num_attention_heads"]
        self.kv_heads = config.get("num_key_value_heads") or self.heads
        self.head_dim = config.get("head_dim") or self.hidden // self.heads
        self.intermediate = config["intermediate_size"]
        self.eps = config.get("rms_norm_eps", 1e-6)
        self.inv_freq = _inverse_frequencies(_rope(config), self.head_dim).to(device)
        self.layers = []
        for i in range(config["num_hidden_layers"]):
            p = f"model.layers.{i}."
            attn = [f"{p}self_attn.{x}_proj" for x in "qkv"]
            self.layers.append(
                _Layer(
                    input_norm=get(p + "input_layernorm.weight"),
                    qkv=cat(*(a + ".weight" for a in attn)),
                    qkv_bias=cat(*(a + ".bias" for a in attn)),
                    out=get(p + "self_attn.o_proj.weight"),
                    out_bias=get(p + "self_attn.o_proj.bias")
                    if p + "self_attn.o_proj.bias" in weights
                    else None,
                    post_norm=get(p + "post_attention_layernorm.weight"),
                    gate_up=cat(p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"),
                    down=get(p + "mlp.down_proj.weight"),
                )
            )
        self.embed = get("model.embed_tokens.weight")
        self.norm = get("model.norm.weight")
        self.head = get("lm_head.weight") if "lm_head.weight" in weights else self.embed
        self.vocab = self.head.shape[0]

    @classmethod
    def load(cls, folder: Path, dtype: Any, device: Any) -> LeanLlama:
        """Read config.json and the safetensors weights (one file or the shards of an index)."""
        from safetensors.torch import load_file

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        weights: dict[str, Any] = {}
        for path in _weight_files(folder):
            weights.update(load_file(path))
        return cls(config, weights, dtype, device)

    def new_cache(self, batch: int, capacity: int) -> KVCache:
        """Room for `capacity` positions of `batch` sequences (the prompt is prefilled once for all of them)."""
        import torch

        shape = (len(self.layers), batch, self.kv_heads, capacity, self.head_dim)
        return KVCache(
            torch.empty(shape, dtype=self.dtype, device=self.device),
            torch.empty(shape, dtype=self.dtype, device=self.device),
        )

    def forward(self, ids: Any, cache: KVCache) -> Any:
        """Logits [batch, vocab] of the last position, appending `ids` [batch, seq] to the cache.

        Two shapes are used: the prompt (one row, the cache empty; its keys go to every cached sequence) and
        one new token per sequence.
        """
        import torch
        import torch.nn.functional as F

        batch, seq = ids.shape
        start, end = cache.length, cache.length + seq
        if end > cache.keys.shape[3]:
            raise ValueError(f"KV cache holds {cache.keys.shape[3]} positions; {end} needed")
        if start and seq != 1:
            raise ValueError("after the prompt, forward() takes one token per sequence")
        heads, kv_heads, dim = self.heads, self.kv_heads, self.head_dim
        positions = torch.arange(start, end, device=self.device, dtype=torch.float32)
        freqs = torch.outer(positions, self.inv_freq)
        angles = torch.cat((freqs, freqs), dim=-1)
        cos, sin = angles.cos().to(self.dtype), angles.sin().to(self.dtype)
        x = F.embedding(ids, self.embed)
        for i, layer in enumerate(self.layers):
            h = self._rms_norm(x, layer.input_norm)
            qkv = F.linear(h, layer.qkv, layer.qkv_bias)
            q, k, v = (
                qkv.view(batch, seq, heads + 2 * kv_heads, dim)
                .transpose(1, 2)
                .split([heads, kv_heads, kv_heads], dim=1)
            )
            q = q * cos + _rotate_half(q) * sin
            k = k * cos + _rotate_half(k) * sin
            cache.keys[i, :, :, start:end] = k
            cache.values[i, :, :, start:end] = v
            if start == 0:  # the prompt attends to itself, causally
                attention = F.scaled_dot_product_attention(q, k, v, is_causal=seq > 1, enable_gqa=True)
            else:  # one new token attends to everything so far
                keys, values = cache.keys[i, :, :, :end], cache.values[i, :, :, :end]
                attention = F.scaled_dot_product_attention(q, keys, values, enable_gqa=True)
            x = x + F.linear(
                attention.transpose(1, 2).reshape(batch, seq, heads * dim), layer.out, layer.out_bias
            )
            h = self._rms_norm(x, layer.post_norm)
            gate, up = F.linear(h, layer.gate_up).split(self.intermediate, dim=-1)
            x = x + F.linear(F.silu(gate) * up, layer.down)
        cache.length = end
        return F.linear(self._rms_norm(x[:, -1], self.norm), self.head)

    def _rms_norm(self, x: Any, weight: Any) -> Any:
        """transformers' LlamaRMSNorm: normalise in float32, cast back, then scale (same rounding in bf16)."""
        import torch.nn.functional as F

        return weight * F.rms_norm(x.float(), (self.hidden,), None, self.eps).to(self.dtype)


def _rotate_half(x: Any) -> Any:
    import torch

    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)
