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

_SETTLE_NS = 100_000_000


def wake_dir(db_path: str) -> str:
    digest = hashlib.sha1(os.path.realpath(db_path).encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"baton-wake-{digest}")


class Waker:
    def __init__(self, db_path: str) -> None:
        self.dir = wake_dir(db_path)
        self._sock: socket.socket | None = None
        self._path: str | None = None
        self._listing: list[str] = []
        self._changed = -1  # the folder's mtime (ns) when it was last listed
        self._listed_ns = 0
        self._sender: socket.socket | None = None

    # --- the idle side ------------------------------------------------------------

    def _listen(self) -> socket.socket:
        if self._sock is None:
            path = os.path.join(self.dir, f"{os.getpid()}-{os.urandom(4).hex()}")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.setblocking(False)
            for _ in range(3):  # another process may remove the empty folder as we bind
                os.makedirs(self.dir, exist_ok=True)
                try:
                    sock.bind(path)
                    break
                except FileNotFoundError:
                    continue
            else:
                sock.close()
                raise OSError(f"cannot bind a wake-up socket in {self.dir}")
            self._path, self._sock = path, sock
        return self._sock

    def arm(self) -> None:
        """Listen, forgetting older wake-ups. Call before looking for work: a commit after
        that look then leaves a byte for `wait`, so its wake-up cannot be lost."""
        self._drain(self._listen())

    async def wait(self, timeout: float) -> bool:
        """Wait for a wake-up byte (one sent since `arm` counts); True if one came in time."""
        sock = self._listen()
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

    def _sockets(self) -> list[str]:
        """The idle workers' sockets, listed again only when the folder changed (a bind or an
        unlink): one stat per commit instead of one listing, and no new worker is missed."""
        try:
            changed = os.stat(self.dir).st_mtime_ns
        except FileNotFoundError:
            return []
        # mtimes are coarse: a listing taken close to a change may have missed that change
        if changed != self._changed or self._listed_ns - changed < _SETTLE_NS:
            listed_ns = time.time_ns()
            try:
                self._listing = [os.path.join(self.dir, n) for n in os.listdir(self.dir)]
            except FileNotFoundError:
                self._listing = []
            self._changed, self._listed_ns = changed, listed_ns
        return self._listing

    def notify(self) -> None:
        listing = self._sockets()
        if not listing:
            return
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        for path in listing:
            try:
                self._sender.sendto(b"!", path)
            except BlockingIOError:  # its buffer is full: it has plenty of wake-ups already
                pass
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    os.unlink(path)
            except OSError:
                pass

    def close(self) -> None:
        for s in (self._sock, self._sender):
            if s is not None:
                s.close()
        if self._path:
            with contextlib.suppress(OSError):
                os.unlink(self._path)
            with contextlib.suppress(OSError):  # the last one out removes the folder
                os.rmdir(self.dir)
        self._sock = self._sender = None
        self._path = None
