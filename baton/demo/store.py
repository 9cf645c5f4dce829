"""Where documents and results live: bytes through fsspec (a local folder by default, any
fsspec URL such as `s3://bucket/prefix` where its driver is installed), keyed by content
hash, and sealed with AES-GCM when a key is configured.

Content addressing is the dedup: the same bytes have the same SHA-256, land in the same
place, and are enqueued under the idempotency key `sha256:<digest>`, so a re-upload gets
the earlier job and its result. A sealed object is `BTN1 | 12-byte nonce | ciphertext+tag`,
with the object's name as associated data, so a sealed file moved under another name does
not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from typing import Any

import baton

MAGIC = b"BTN1"
_NONCE = 12


def load_key(value: str | None) -> bytes | None:
    """A 32-byte AES key from $BATON_DEMO_KEY: 64 hex digits or base64 (url-safe or not)."""
    if not value:
        return None
    value = value.strip()
    key: bytes | None = None
    if len(value) == 64:
        try:
            key = bytes.fromhex(value)
        except ValueError:
            key = None
    if key is None:
        try:
            key = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=False)
        except (binascii.Error, ValueError):
            key = None
    if key is None or len(key) != 32:
        raise baton.ConfigError(
            "BATON_DEMO_KEY must be 32 random bytes, as 64 hex digits or base64 "
            '(make one with: python -c "import secrets; print(secrets.token_hex(32))")'
        )
    return key


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DocumentStore:
    """Documents, results and idempotency keys under one fsspec location."""

    def __init__(self, url: str, key: bytes | None = None) -> None:
        import fsspec  # type: ignore[import-untyped]

        self.url = url
        self.key = key
        self.fs: Any
        self.fs, self.root = fsspec.core.url_to_fs(url)
        self.fs.makedirs(self.root, exist_ok=True)

    @property
    def encrypted(self) -> bool:
        return self.key is not None

    def _path(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{name}"

    def put(self, name: str, data: bytes) -> str:
        """Write `data` under `name` (sealed when a key is set); return its location."""
        path = self._path(name)
        parent = path.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        tmp = f"{path}.tmp-{os.getpid()}"
        with self.fs.open(tmp, "wb") as f:
            f.write(self.seal(name, data))
        self.fs.mv(tmp, path)
        return path

    def get(self, name: str) -> bytes:
        with self.fs.open(self._path(name), "rb") as f:
            return self.open(name, f.read())

    def exists(self, name: str) -> bool:
        return bool(self.fs.exists(self._path(name)))

    def seal(self, name: str, data: bytes) -> bytes:
        if self.key is None:
            return data
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(_NONCE)
        return MAGIC + nonce + AESGCM(self.key).encrypt(nonce, data, name.encode())

    def open(self, name: str, blob: bytes) -> bytes:
        if not blob.startswith(MAGIC):
            if self.key is not None:
                raise baton.ConfigError(f"{name} is not sealed, but BATON_DEMO_KEY is set")
            return blob
        if self.key is None:
            raise baton.ConfigError(f"{name} is sealed: set BATON_DEMO_KEY to read it")
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce, body = blob[len(MAGIC) : len(MAGIC) + _NONCE], blob[len(MAGIC) + _NONCE :]
        return AESGCM(self.key).decrypt(nonce, body, name.encode())

    # --- the app's names -----------------------------------------------------------

    @staticmethod
    def document_name(tenant: str, digest: str) -> str:
        return f"{_safe(tenant)}/documents/{digest}.pdf"

    @staticmethod
    def result_name(tenant: str, digest: str) -> str:
        return f"{_safe(tenant)}/results/{digest}.json"

    @staticmethod
    def key_name(tenant: str, idempotency_key: str) -> str:
        hashed = hashlib.sha256(idempotency_key.encode()).hexdigest()
        return f"{_safe(tenant)}/idempotency/{hashed}"


def _safe(tenant: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in tenant) or "default"
