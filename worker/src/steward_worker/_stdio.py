"""Non-blocking line I/O on the process's stdin/stdout for the protocol.

Pipes (how the core starts the worker) use asyncio pipe transports. Anything else (a file, a terminal when
debugging by hand) falls back to a reader thread and plain blocking writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from typing import BinaryIO, Final

from .protocol import OutgoingMessage, encode

__all__ = ["LineReader", "LineTooLong", "LineWriter", "WriterClosed"]

MAX_LINE_BYTES: Final = 64 * 1024 * 1024
"""Longest accepted line; a run with a long history is large, but never this large."""


class LineTooLong(Exception):
    """A line exceeded `MAX_LINE_BYTES`; it has been skipped up to and including its newline."""


class WriterClosed(Exception):
    """The core closed its end of our stdout."""


class LineReader:
    """Reads '\\n'-terminated lines from a file descriptor without blocking the event loop."""

    def __init__(self, fd: int, *, limit: int = MAX_LINE_BYTES) -> None:
        self._file: BinaryIO = os.fdopen(fd, "rb", buffering=0, closefd=False)
        self._limit = limit
        self._reader: asyncio.StreamReader | None = None
        self._queue: asyncio.Queue[bytes | None] | None = None

    async def start(self) -> None:
        """Attaches to the event loop; call once from inside it."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=self._limit)
        try:
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), self._file)
        except ValueError:  # not a pipe, socket or character device
            queue: asyncio.Queue[bytes | None] = asyncio.Queue()
            self._queue = queue
            threading.Thread(target=self._pump, args=(loop, queue), name="stdin-reader", daemon=True).start()
        else:
            self._reader = reader

    def _pump(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes | None]) -> None:
        while True:
            line = self._file.readline()
            loop.call_soon_threadsafe(queue.put_nowait, line or None)
            if not line:
                return

    async def readline(self) -> bytes | None:
        """Returns the next line without its newline, or None at end of input. Raises `LineTooLong`."""
        if self._queue is not None:
            line = await self._queue.get()
            if line is not None and len(line) > self._limit:
                raise LineTooLong(f"line longer than {self._limit} bytes")
            return None if line is None else line.rstrip(b"\n")
        assert self._reader is not None, "start() was not called"
        try:
            return (await self._reader.readuntil(b"\n"))[:-1]
        except asyncio.IncompleteReadError as exc:
            return exc.partial or None  # a last line without '\n' still counts
        except asyncio.LimitOverrunError as exc:
            await self._discard_line(exc.consumed)
            raise LineTooLong(f"line longer than {self._limit} bytes") from None

    async def _discard_line(self, consumed: int) -> None:
        assert self._reader is not None
        await self._reader.readexactly(consumed)
        while True:
            try:
                await self._reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as exc:
                await self._reader.readexactly(exc.consumed)
            except asyncio.IncompleteReadError:
                return


class LineWriter:
    """Writes one protocol message per line; safe to call from many tasks (writes are serialised)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._file: BinaryIO = os.fdopen(fd, "wb", buffering=0, closefd=False)
        self._lock = asyncio.Lock()
        self._writer: asyncio.StreamWriter | None = None
        self._closed = False

    async def start(self) -> None:
        """Attaches to the event loop; call once from inside it."""
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, self._file)
        except ValueError:  # not a pipe: a file or terminal, where a blocking write is short
            return
        self._writer = asyncio.StreamWriter(transport, protocol, None, loop)

    async def write(self, message: OutgoingMessage) -> None:
        """Writes `message` as one line and flushes it. Raises `WriterClosed` once the reader is gone."""
        data = encode(message)
        async with self._lock:
            if self._closed:
                raise WriterClosed("stdout is closed")
            try:
                if self._writer is None:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(self._fd, view) :]
                else:
                    # The whole line goes into the transport at once, so a cancelled drain cannot split it.
                    self._writer.write(data)
                    await self._writer.drain()
            except OSError as exc:  # EPIPE, ECONNRESET: the core is gone
                self._closed = True
                raise WriterClosed("stdout is closed") from exc

    async def close(self) -> None:
        """Flushes and closes the transport, if any."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer.drain()
            self._writer.close()
