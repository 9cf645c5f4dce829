"""What a running job can reach: the app, the backend, blob storage, the process pool."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..backends.protocol import Backend
from ..blobs import BlobStore
from .executors import ProcessPool

if TYPE_CHECKING:
    from ..app import App


@dataclass
class Runtime:
    app: App
    backend: Backend
    blobs: BlobStore
    worker_id: str
    process_pool_size: int | None = None
    _pool: ProcessPool | None = field(default=None, repr=False)

    def processes(self) -> ProcessPool:
        if self._pool is None:
            self._pool = ProcessPool(self.process_pool_size)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
