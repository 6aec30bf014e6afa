"""A TCP proxy between the control plane and Asterisk's HTTP port, for fault tests.

It forwards every connection unchanged; cut_events() closes the ARI events WebSocket
connections only (those on which a "GET /ari/events" request went: a kept-alive
connection may carry REST requests first), as a network cut or an
Asterisk HTTP restart would, while REST calls go on. Runs its own event loop in a
thread; listens on loopback only; stop() closes everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class FaultProxy:
    def __init__(self, listen_port: int, target_port: int, host: str = "127.0.0.1") -> None:
        self.listen_port, self.target_port, self.host = listen_port, target_port, host
        self._loop = asyncio.new_event_loop()
        self._events: set[asyncio.StreamWriter] = set()
        self.cuts = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="fault-proxy")
        self._thread.start()
        self._ready.wait(5)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._client, self.host, self.listen_port)
        )
        self._ready.set()
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer, writer), self._pipe(up_reader, writer))
        self._events.discard(writer)

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        client: asyncio.StreamWriter | None = None,
    ) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                if client is not None and data.startswith(b"GET /ari/events"):
                    self._events.add(client)
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()

    def cut_events(self) -> int:
        """Closes every events WebSocket going through; returns how many were cut."""

        async def cut() -> int:
            cut = list(self._events)
            for writer in cut:
                writer.transport.abort()
            self._events.clear()
            return len(cut)

        count = asyncio.run_coroutine_threadsafe(cut(), self._loop).result(5)
        self.cuts += count
        return count

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            for writer in list(self._events):
                writer.transport.abort()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
