"""Time-ordered job ids (UUIDv7, RFC 9562), so ids sort by creation and index well.

Within one millisecond the 12 `rand_a` bits are a counter (RFC 9562 §6.2, method 1), so
ids made by one process sort in the order they were made; `list_jobs` pages by id.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> str:
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms, _counter = ms, int.from_bytes(os.urandom(1), "big")  # room to count
        else:
            _counter += 1
            if _counter > 0xFFF:  # more than ~3,800 ids in a millisecond: borrow the next one
                _last_ms, _counter = _last_ms + 1, 0
            ms = _last_ms
        counter = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))
