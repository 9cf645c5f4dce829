"""The pre-flight: refuse what is not a PDF, too big, has too many pages or hides a
decompression bomb, before any parser sees it.

It reads raw bytes only (no PDF parser), so it cannot be tricked into the parsers' traps:
it counts page objects, reads declared image sizes, and inflates every Flate stream
(object streams included, where page objects hide) with a hard cap on the output, so a
4 KB file that would inflate to 2 GiB is caught after at most `max_stream_bytes`.
Its work is bounded by the file size and the caps, so it can run on a thread.
"""

from __future__ import annotations

import bisect
import re
import zlib
from dataclasses import dataclass, field

from .models import Limits, ScanReport

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"PK\x03\x04", "a ZIP archive (such as a Word or OpenDocument file)"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file"),
    (b"%!PS", "a PostScript file"),
    (b"{\\rtf", "an RTF document"),
)
_STREAM = re.compile(rb"(?<!end)stream(?:\r\n|\n|\r)")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_ENCRYPT = re.compile(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)")
_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\s+\d+\s+R)")
_WIDTH = re.compile(rb"/Width\s+(\d+)")
_HEIGHT = re.compile(rb"/Height\s+(\d+)")
_FLATE = re.compile(rb"/(?:FlateDecode|Fl)(?![A-Za-z])")
_ENDSTREAM = re.compile(rb"endstream")
_DICT_LOOKBACK = 1024  # a stream's dictionary sits just before it
MAX_STREAMS = 200_000  # bounds the scan's own work on a file made of stream keywords


@dataclass(slots=True)
class _Tally:
    pages: int = 0
    inflated: int = 0
    ends: list[int] = field(default_factory=list)  # where each `endstream` starts


class Refused(Exception):
    """The file is refused; the message is the one-line reason a user sees."""


def scan(data: bytes, limits: Limits) -> ScanReport:
    """Check `data` cheaply; a refused file gets `ok=False` and a reason a user understands."""
    try:
        tally = _check(data, limits)
    except Refused as exc:
        return ScanReport(ok=False, reason=str(exc), size=len(data))
    return ScanReport(
        ok=True,
        size=len(data),
        pages=tally.pages,
        encrypted=_ENCRYPT.search(data) is not None,
        inflated_bytes=tally.inflated,
    )


def _check(data: bytes, limits: Limits) -> _Tally:
    if not data:
        raise Refused("the file is empty")
    if len(data) > limits.max_bytes:
        raise Refused(f"the file is {_mib(len(data))}; the limit is {_mib(limits.max_bytes)}")
    _check_magic(data)
    tally = _Tally(pages=len(_PAGE.findall(data)))
    tally.ends = [m.start() for m in _ENDSTREAM.finditer(data)]
    for n, match in enumerate(_STREAM.finditer(data)):
        if n >= MAX_STREAMS:
            raise Refused(f"the PDF has more than {MAX_STREAMS:,} streams")
        _check_stream(data, match.start(), match.end(), limits, tally)
    if tally.pages > limits.max_pages:
        raise Refused(f"the PDF has {tally.pages:,} pages; the limit is {limits.max_pages:,}")
    return tally


def _check_magic(data: bytes) -> None:
    head = data[:1024]
    if b"%PDF-" in head:
        return
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise Refused(f"not a PDF: the file is {what}")
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in text:
        raise Refused("not a PDF: the file is an HTML page (perhaps an error page from a download)")
    raise Refused("not a PDF: the file does not start with a PDF header")


def _check_stream(data: bytes, start: int, body: int, limits: Limits, tally: _Tally) -> None:
    head = data[max(0, start - _DICT_LOOKBACK) : start]
    objs = list(_OBJ.finditer(head))
    if objs:
        head = head[objs[-1].end() :]
    _check_image(head, limits)
    layers = len(_FLATE.findall(head))
    if not layers:
        return
    length = _LENGTH.search(head)
    end = body + int(length.group(1)) if length else -1
    if end < body or end > len(data):  # no usable /Length: up to the next `endstream`
        at = bisect.bisect_left(tally.ends, body)
        end = tally.ends[at] if at < len(tally.ends) else len(data)
    raw = memoryview(data)[body:end]  # no copy: a hostile file may have many long ones
    room = min(limits.max_stream_bytes, limits.max_inflated_bytes - tally.inflated)
    out = _inflate(raw, layers, room)
    if out is None:
        return  # not valid Flate data: the parser will report the damaged stream
    if len(out) > room:
        raise Refused(
            "the PDF hides a decompression bomb: a stream of "
            f"{len(raw):,} bytes inflates past {_mib(room)}"
        )
    tally.inflated += len(out)
    if b"/ObjStm" in head:
        tally.pages += len(_PAGE.findall(out))


def _inflate(raw: memoryview, layers: int, cap: int) -> bytes | None:
    """Inflate `layers` nested Flate encodings, never producing more than `cap + 1` bytes."""
    out: bytes | memoryview = raw
    for _ in range(layers):
        try:
            out = zlib.decompressobj().decompress(out, cap + 1)
        except zlib.error:
            return None
        if len(out) > cap:
            return out
    return bytes(out)


def _check_image(head: bytes, limits: Limits) -> None:
    if b"/Image" not in head:
        return
    width, height = _WIDTH.search(head), _HEIGHT.search(head)
    if width and height:
        w, h = int(width.group(1)), int(height.group(1))
        if w * h > limits.max_image_pixels:
            raise Refused(
                f"the PDF hides a decompression bomb: an image declares {w:,} x {h:,} pixels"
            )


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"
