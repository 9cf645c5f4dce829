"""Text per page, under hard limits: meant to run in baton's process executor.

The caller (a `executor="process"` step) gets a child process that baton kills when the
step's wall-clock timeout passes. Inside it, `limited()` lowers the soft RLIMIT_AS (memory)
and RLIMIT_CPU for the duration of one parse, then restores them, so a warm pool process
can serve the next document. A parser that runs out of memory gets a MemoryError, one that
burns CPU gets `CpuLimit` from SIGXCPU, and text past `max_text_chars` is cut: every one
becomes a one-line reason instead of a dead worker.

pypdf (BSD) is the parser. It has its own decompression limits; the pre-flight in scan.py
has already refused bombs and huge page trees, so pypdf never sees those.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import resource
import signal
import threading
import unicodedata  # noqa: F401  (pypdf imports it lazily: load it before memory is capped)
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pypdf
import pypdf._text_extraction  # the same: loaded lazily on first extract_text
import pypdf.filters

from .models import Limits, PageFailure
from .tables import find_tables, plain_text

log = logging.getLogger("baton.demo.parse")


class CpuLimit(Exception):
    """The parser used up its CPU budget (RLIMIT_CPU sent SIGXCPU)."""


class Unreadable(Exception):
    """The whole document cannot be read; the message is the reason a user sees."""


class PageText:
    """What one parse found: page texts (raw: scrub before they leave the process)."""

    def __init__(self) -> None:
        self.count = 0
        self.texts: list[str] = []
        self.failed: list[PageFailure] = []
        self.image_only: list[int] = []
        self.tables: list[tuple[int, list[list[str]]]] = []  # (page, rows), raw cells
        self.truncated = False


def _on_sigxcpu(signum: int, frame: Any) -> None:
    raise CpuLimit("cpu")


@contextlib.contextmanager
def limited(limits: Limits) -> Iterator[None]:
    """Lower the soft memory and CPU limits of this process for one parse, then restore."""
    saved_as = resource.getrlimit(resource.RLIMIT_AS)
    saved_cpu = resource.getrlimit(resource.RLIMIT_CPU)
    # SIGXCPU can only be caught on the main thread (as in baton's process executor); on
    # another thread the CPU limit is left alone and the step's timeout is the bound
    on_main = threading.current_thread() is threading.main_thread()
    old_handler = signal.signal(signal.SIGXCPU, _on_sigxcpu) if on_main else None
    try:
        _lower(resource.RLIMIT_AS, saved_as, _address_space() + limits.memory_bytes)
        if on_main:
            used = resource.getrusage(resource.RUSAGE_SELF)
            cpu_soft = int(used.ru_utime + used.ru_stime) + limits.cpu_seconds
            _lower(resource.RLIMIT_CPU, saved_cpu, cpu_soft)
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, saved_as)
        resource.setrlimit(resource.RLIMIT_CPU, saved_cpu)
        if on_main:
            signal.signal(signal.SIGXCPU, old_handler)


def _lower(which: int, saved: tuple[int, int], soft: int) -> None:
    hard = saved[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    with contextlib.suppress(ValueError, OSError):  # a platform without the limit
        resource.setrlimit(which, (soft, hard))


def _address_space() -> int:
    """This process's current virtual size (Linux), so the limit is head-room, not a total."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def extract_pages(data: bytes, limits: Limits) -> PageText:
    """Read every page's text, under `limits`; raise Unreadable for a document-level failure."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are not for users
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with limited(limits):
                return _extract(data, limits)
        except Unreadable:
            raise
        except (MemoryError, ImportError):  # a lazy import can fail to map under the cap
            raise Unreadable(
                f"the PDF needs more than {limits.memory_bytes // 2**20} MiB of memory to read"
            ) from None
        except CpuLimit:
            raise Unreadable(
                f"reading the PDF used more than {limits.cpu_seconds} s of CPU and was stopped"
            ) from None
        except RecursionError:
            raise Unreadable("the PDF's structure is nested too deeply to read") from None
        except Exception as exc:
            raise Unreadable(explain(exc)) from None


def _extract(data: bytes, limits: Limits) -> PageText:
    reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and not _decrypt_empty(reader):
        raise Unreadable("the PDF is password-protected; upload a copy without a password")
    try:
        count = len(reader.pages)
    except (MemoryError, CpuLimit):
        raise
    except Exception as exc:
        raise Unreadable(explain(exc)) from None
    if count > limits.max_pages:
        raise Unreadable(f"the PDF has {count:,} pages; the limit is {limits.max_pages:,}")
    if count == 0:
        raise Unreadable("the PDF has no pages")
    found = PageText()
    found.count = count
    budget = limits.max_text_chars
    for n in range(count):
        text = _page_text(reader, n, found)
        if len(text) > budget:
            text, found.truncated = text[:budget], True
        budget -= len(text)
        found.texts.append(text)
        if found.truncated:
            found.texts.extend("" for _ in range(n + 1, count))
            break
    return found


def _decrypt_empty(reader: Any) -> bool:
    """An encrypted PDF with an empty user password opens like any other."""
    try:
        return bool(reader.decrypt(""))
    except Exception:
        return False


def _page_text(reader: Any, n: int, found: PageText) -> str:
    """The page's text in layout mode (columns kept apart, so tables can be found), falling
    back to plain extraction when the layout pass fails."""
    try:
        page = reader.pages[n]
        try:
            layout: str = page.extract_text(extraction_mode="layout") or ""
        except (MemoryError, CpuLimit, RecursionError):
            raise
        except Exception:
            layout = ""
        if layout.strip():
            found.tables.extend((n + 1, rows) for rows in find_tables(layout))
            text = plain_text(layout)
        else:
            text = page.extract_text() or ""
    except (MemoryError, CpuLimit):
        raise
    except RecursionError:
        found.failed.append(PageFailure(page=n + 1, reason="nested too deeply to read"))
        return ""
    except Exception as exc:
        found.failed.append(PageFailure(page=n + 1, reason=explain(exc)))
        return ""
    if not text.strip() and _has_images(page):
        found.image_only.append(n + 1)
    return text


def _has_images(page: Any) -> bool:
    try:
        xobjects = page["/Resources"]["/XObject"]
        return any(xobjects[name].get("/Subtype") == "/Image" for name in xobjects)
    except Exception:
        return False


_EXPLAIN: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("startxref not found", lambda m: "the PDF is damaged: its cross-reference table is missing"),
    ("Stream has ended unexpectedly", lambda m: "the PDF is damaged or cut off: it ends early"),
    ("cyclic", lambda m: "the PDF is damaged: its page tree loops back on itself"),
    ("page tree depth", lambda m: "the PDF's page tree is nested too deeply"),
    ("password", lambda m: "the PDF is password-protected; upload a copy without a password"),
    ("jbig2", lambda m: "the PDF uses JBIG2 image compression, which this parser cannot decode"),
    ("Limit reached", lambda m: f"the PDF exceeds a safety limit of the parser ({m})"),
    ("LZW", lambda m: "a compressed stream in the PDF is corrupt"),
    ("Trailer cannot be read", lambda m: "the PDF is damaged: its trailer cannot be read"),
    ("Cannot read an empty file", lambda m: "the file is empty"),
)


def explain(exc: BaseException) -> str:
    """A one-line reason for a parser error, in words a user understands."""
    message = " ".join(str(exc).split())[:160] or type(exc).__name__
    low = message.lower()
    for needle, say in _EXPLAIN:
        if needle.lower() in low:
            return say(message)
    return f"the PDF could not be read ({type(exc).__name__}: {message})"
