"""Tables from layout text: aligned columns are a table, prose is not."""

from __future__ import annotations

from baton.demo.models import Limits
from baton.demo.parse import extract_pages
from baton.demo.tables import find_tables, plain_text

from .conftest import corpus_dir

TABLE = """Quarterly sales

Region        Q1        Q2        Q3
North      1,200     1,350       980
South        870       910     1,020
East       2,400     2,100     2,250
West         310       290       400

Totals are in thousands.
"""

PROSE = """Lorem  ipsum  dolor  sit  amet,  consectetuer  adip-   nec,  suscipit a,  ipsum.
iscing  elit.   Ut  purus  elit,  vestibulum  ut,  placerat     magna.  Nunc eleifend.
ac, adipiscing vitae, felis.  Curabitur dictum gravida          nulla  vitae  enim.
mauris.     Nam  arcu  libero,   nonummy  eget,   con-          magna.   Integer  non.
"""


def test_aligned_columns_make_a_table() -> None:
    [table] = find_tables(TABLE)
    assert table[0] == ["Region", "Q1", "Q2", "Q3"]
    assert table[-1] == ["West", "310", "290", "400"] and len(table) == 5


def test_justified_prose_is_not_a_table() -> None:
    assert find_tables(PROSE) == []


def test_plain_text_drops_the_padding() -> None:
    assert plain_text("   a     b\n\n\n\n  c  ") == "a  b\n\nc\n"


def test_tables_in_real_reports() -> None:
    pdfs = corpus_dir()
    nics = extract_pages(
        (pdfs / "pdfplumber-nics-background-checks-2015-11.pdf").read_bytes(), Limits()
    )
    [(page, rows)] = nics.tables
    assert page == 1 and len(rows) > 50
    assert rows[2][:3] == ["Alabama", "18,870", "23,022"]
    warn = (pdfs / "pdfplumber-WARN-Report-for-7-1-2015-to-03-25-2016.pdf").read_bytes()
    assert len({page for page, _ in extract_pages(warn, Limits()).tables}) == 16
    prose = extract_pages(
        (pdfs / "pdfplumber-federal-register-2020-17221.pdf").read_bytes(), Limits()
    )
    assert prose.tables == []


def test_double_spaced_layout_is_undoubled() -> None:
    layout = "line one\n\nline two\n\nline three\n\n\n\nnext paragraph\n"
    assert plain_text(layout) == "line one\nline two\nline three\n\nnext paragraph\n"
