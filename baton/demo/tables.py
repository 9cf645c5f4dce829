"""Tables from layout text: runs of lines whose cells line up in columns.

pypdf's layout mode keeps text where it sits on the page, so a table's columns stay apart
and line up from row to row (left edges for text, right edges for numbers). A block of at
least MIN_ROWS lines of short cells with MIN_COLS or more such aligned columns is a
table; justified prose (wide gaps anywhere) and multi-column prose (long cells) are not.
This is a heuristic, not a ruled-grid detector. Cells are raw text: the parse step scrubs
them like page text.
"""

from __future__ import annotations

import re
from collections import Counter

_CELL = re.compile(r"\S+(?: \S+)*")  # words joined by single spaces; 2+ spaces end a cell
_GAP = re.compile(r"\s{2,}")
MIN_ROWS = 4
MIN_COLS = 3
ALIGNED = 0.6  # share of a block's rows that must have a cell edge at a column
COVERED = 0.6  # share of a block's cells that must sit on such a column
MAX_TABLES_PER_PAGE = 10
MAX_ROWS = 500
MAX_COLS = 40
MAX_CELL = 200
MAX_MEAN_CELL = 30  # table cells are short; a column of prose is not

Row = list[tuple[int, int, str]]  # (start, end, text) per cell


def find_tables(layout: str) -> list[list[list[str]]]:
    """Blocks of at least MIN_ROWS consecutive lines with at least MIN_COLS aligned cells."""
    tables: list[list[list[str]]] = []
    block: list[Row] = []
    for line in [*layout.splitlines(), ""]:
        row = [(m.start(), m.end(), m.group(0)[:MAX_CELL]) for m in _CELL.finditer(line)]
        short = sum(end - start for start, end, _ in row) <= MAX_MEAN_CELL * len(row)
        if len(row) >= MIN_COLS and short and len(block) < MAX_ROWS:
            block.append(row[:MAX_COLS])
            continue
        if len(block) >= MIN_ROWS and _columns(block) >= MIN_COLS:
            tables.append([[text for _, _, text in r] for r in block])
        block = [row[:MAX_COLS]] if len(row) >= MIN_COLS and short else []
    return tables[:MAX_TABLES_PER_PAGE]


def _columns(block: list[Row]) -> int:
    """How many columns line up, by left edges (text) or right edges (numbers) with one
    character of slack; 0 unless most cells of the block sit on those columns."""
    need = ALIGNED * len(block)
    found: list[set[int]] = []
    for edge in (0, 1):
        rows_at: Counter[int] = Counter()
        for row in block:
            edges = [cell[0] if edge == 0 else cell[1] for cell in row]
            rows_at.update({e + d for e in edges for d in (-1, 0, 1)})
        found.append({p for p, n in rows_at.items() if n >= need})
    cells = [cell for row in block for cell in row]
    on_grid = sum(1 for c in cells if c[0] in found[0] or c[1] in found[1])
    if on_grid < COVERED * len(cells):
        return 0
    return max(_distinct(marks) for marks in found)


def _distinct(marks: set[int]) -> int:
    ordered = sorted(marks)
    return sum(1 for i, p in enumerate(ordered) if i == 0 or p - ordered[i - 1] > 2)


def _undouble(lines: list[str]) -> list[str]:
    """Drop one blank line from every run of blank lines."""
    out: list[str] = []
    for i, line in enumerate(lines):
        if not line and (i == 0 or lines[i - 1]):
            continue
        out.append(line)
    return out


def plain_text(layout: str) -> str:
    """Layout text without its padding: lines stripped, wide gaps kept as two spaces (a
    column break a reader, or an LLM, can still see), runs of blank lines folded."""
    lines = [_GAP.sub("  ", line.strip()) for line in layout.splitlines()]
    if lines and sum(1 for line in lines if not line) > 0.4 * len(lines):
        lines = _undouble(lines)  # double-spaced layout: a blank line after every line
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip() + "\n" if text.strip() else ""
