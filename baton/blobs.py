"""Big payloads by reference: a value over the threshold lives in blob storage, the
checkpoint holds `{"$baton_blob": "sha256:…", "size": n}`, and user code never notices.

Blobs are content-addressed, so a retried step that saves the same result writes nothing new.
The default store is a local folder; any fsspec URL (`s3://bucket/prefix`) works where fsspec
and its filesystem driver are installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from typing import Any

from .errors import ConfigError

REF_KEY = "$baton_blob"
_PREFIX = '{"' + REF_KEY + '"'
DEFAULT_THRESHOLD = 256 * 1024


class BlobStore:
    def __init__(self, location: str, threshold: int = DEFAULT_THRESHOLD) -> None:
        self.location = location
        self.threshold = threshold
        self._fs: Any = None
        self._root = location
        if "://" in location and not location.startswith("file://"):
            try:
                import fsspec  # type: ignore[import-untyped]
            except ImportError:
                raise ConfigError(
                    f"blob storage {location!r} needs fsspec: pip install 'baton[pdf]' or fsspec"
                ) from None
            self._fs, self._root = fsspec.core.url_to_fs(location)
        elif location.startswith("file://"):
            self._root = location[len("file://") :]

    def wrap(self, text: str) -> str:
        """Store `text` as a blob when it is over the threshold; return what to checkpoint."""
        if len(text) <= self.threshold // 4:  # utf-8: at most 4 bytes a character
            return text
        data = text.encode()
        if len(data) <= self.threshold:
            return text
        digest = hashlib.sha256(data).hexdigest()
        self._put(digest, data)
        return json.dumps({REF_KEY: f"sha256:{digest}", "size": len(data)})

    def unwrap(self, text: str | None) -> str | None:
        if text is None or not text.startswith(_PREFIX):
            return text
        ref = json.loads(text)[REF_KEY]
        return self._get(ref.split(":", 1)[1]).decode()

    def is_ref(self, value: Any) -> bool:
        return isinstance(value, dict) and REF_KEY in value

    def load_ref(self, value: dict[str, Any]) -> str:
        return self._get(str(value[REF_KEY]).split(":", 1)[1]).decode()

    def _path(self, digest: str) -> str:
        return f"{self._root.rstrip('/')}/{digest[:2]}/{digest}"

    def _put(self, digest: str, data: bytes) -> None:
        path = self._path(digest)
        if self._fs is not None:
            if not self._fs.exists(path):
                self._fs.pipe_file(path, data)
            return
        if os.path.exists(path):
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _get(self, digest: str) -> bytes:
        path = self._path(digest)
        if self._fs is not None:
            return bytes(self._fs.cat_file(path))
        with open(path, "rb") as fh:
            return fh.read()


def default_location(url: str) -> str:
    env = os.environ.get("BATON_BLOBS")
    if env:
        return env
    if url.startswith("sqlite://"):
        from .backends.sqlite.backend import path_from_url

        return os.path.abspath(path_from_url(url)) + ".blobs"
    return os.path.abspath("baton-blobs")
