"""Cross-process wake-ups for SQLite, which has no LISTEN/NOTIFY.

Each idle worker binds a Unix datagram socket in a small directory derived from the
database path; a commit that makes work runnable sends one byte to every socket there.
A dead worker's socket refuses the datagram and is removed. Polling remains only as the
safety net, so an idle worker picks a new job up in well under a millisecond.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import tempfile
import time


def wake_dir(db_path: str) -> str:
    digest = hashlib.sha1(os.path.realpath(db_path).encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"baton-wake-{digest}")


class Waker:
    def __init__(self, db_path: str) -> None:
        self.dir = wake_dir(db_path)
        self._sock: socket.socket | None = None
        self._path: str | None = None
        self._listing: list[str] = []
        self._listed_at = 0.0
        self._sender: socket.socket | None = None

    # --- the idle side ------------------------------------------------------------

    def _listen(self) -> socket.socket:
        if self._sock is None:
            os.makedirs(self.dir, exist_ok=True)
            self._path = os.path.join(self.dir, f"{os.getpid()}-{os.urandom(4).hex()}")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.bind(self._path)
            self._sock = sock
        return self._sock

    async def wait(self, timeout: float) -> bool:
        """Wait for a wake-up byte; True if one came before `timeout`."""
        sock = self._listen()
        self._drain(sock)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(max(0.0, timeout)):
                await loop.sock_recv(sock, 64)
        except TimeoutError:
            return False
        self._drain(sock)
        return True

    @staticmethod
    def _drain(sock: socket.socket) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while True:
                sock.recv(64)

    # --- the committing side ------------------------------------------------------

    def notify(self) -> None:
        now = time.monotonic()
        if now - self._listed_at > 0.5:
            try:
                self._listing = [os.path.join(self.dir, n) for n in os.listdir(self.dir)]
            except FileNotFoundError:
                self._listing = []
            self._listed_at = now
        if not self._listing:
            return
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        for path in self._listing:
            try:
                self._sender.sendto(b"!", path)
            except BlockingIOError:  # its buffer is full: it has plenty of wake-ups already
                pass
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    os.unlink(path)
                self._listed_at = 0.0
            except OSError:
                pass

    def close(self) -> None:
        for s in (self._sock, self._sender):
            if s is not None:
                s.close()
        if self._path:
            with contextlib.suppress(OSError):
                os.unlink(self._path)
        self._sock = self._sender = None
