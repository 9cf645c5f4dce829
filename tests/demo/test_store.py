"""Documents and results through fsspec, sealed with AES-GCM when a key is set."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

import baton
from baton.demo.store import DocumentStore, load_key


def test_plain_round_trip(tmp_path: Path) -> None:
    store = DocumentStore(str(tmp_path))
    where = store.put("t/documents/abc.pdf", b"%PDF-1.4 hello")
    assert Path(where).read_bytes() == b"%PDF-1.4 hello"
    assert store.get("t/documents/abc.pdf") == b"%PDF-1.4 hello" and not store.encrypted


def test_sealed_round_trip_hides_the_bytes(tmp_path: Path) -> None:
    store = DocumentStore(f"file://{tmp_path}", load_key(secrets.token_hex(32)))
    where = store.put("t/results/abc.json", b'{"secret": "jane@example.com"}')
    on_disk = Path(where).read_bytes()
    assert on_disk.startswith(b"BTN1") and b"jane" not in on_disk
    assert store.get("t/results/abc.json") == b'{"secret": "jane@example.com"}'


def test_a_sealed_object_is_bound_to_its_name(tmp_path: Path) -> None:
    store = DocumentStore(str(tmp_path), load_key(secrets.token_hex(32)))
    blob = store.seal("a", b"data")
    with pytest.raises(InvalidTag):
        store.open("b", blob)


def test_keys_are_checked() -> None:
    key = secrets.token_bytes(32)
    assert load_key(key.hex()) == key
    import base64

    assert load_key(base64.urlsafe_b64encode(key).decode()) == key
    assert load_key(None) is None and load_key("") is None
    with pytest.raises(baton.ConfigError, match="32 random bytes"):
        load_key("too-short")


def test_sealed_needs_the_key(tmp_path: Path) -> None:
    DocumentStore(str(tmp_path), load_key(secrets.token_hex(32))).put("x", b"data")
    with pytest.raises(baton.ConfigError, match="set BATON_DEMO_KEY"):
        DocumentStore(str(tmp_path)).get("x")


def test_names_are_safe_per_tenant() -> None:
    assert DocumentStore.document_name("../evil", "ab") == "___evil/documents/ab.pdf"
    assert DocumentStore.key_name("t", "k1") != DocumentStore.key_name("t", "k2")
