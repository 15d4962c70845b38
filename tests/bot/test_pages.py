"""The register and the report as people read them: templates a city can replace, hostile text shown inert in
every field, the formats for people agreeing on each use, words and dates of the reader's language and zone."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from markdown_it import MarkdownIt

from bot.audit import head
from bot.config import DirectionConfig, RoleConfig
from bot.register import entries, export, snapshot
from bot.report import build, to_html, to_markdown
from tests.bot.test_register import populated
from tests.helpers import Chat, submitted

ROOT = Path(__file__).resolve().parents[2]
CONTROLS = ("\x1b", "\x00", "\u202e", "\x07")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def hostile(tag: str) -> str:
    """Markup of every kind a page could fall for, named by `tag` so that each field can be found."""
    return f"{tag} <script>alert('{tag}')</script> *{tag}* | [x](javascript:alert(1)) ~~b~~ <img src=x onerror=y>"


# Every free text an agent types that a page shows, and the labels the city's config gives
TYPED = {"ctx_name": hostile("NAME")[:120], "ctx_purpose": hostile("PURPOSE") + "\n# heading\n- item",
         "ctx_supplier": hostile("SUPPLIER"), "c2_legal_text": hostile("LEGALTEXT"),
         "c6_accountable": hostile("CONTACT")}
CONFIGURED = {"direction": hostile("DIRECTION") + "\x1b[31m\u202e\x00\x07", "role": hostile("ROLE")}
COMMENT = hostile("COMMENT")
TAGS = ("NAME", "PURPOSE", "SUPPLIER", "CONTACT", "DIRECTION", "ROLE")  # shown in the register
REPORT_TAGS = ("NAME", "PURPOSE", "SUPPLIER", "LEGALTEXT", "CONTACT", "ROLE", "COMMENT")


@dataclass
class Section:
    """One use (or one part of a report) as a page shows it, from its h2 to the next."""

    title: str = ""
    facts: dict[str, str] = field(default_factory=dict)    # dt → dd
    items: list[str] = field(default_factory=list)         # list items
    rows: list[list[str]] = field(default_factory=list)    # table rows, header row first


class Page(HTMLParser):
    """What a browser builds of a page: the tags it opens, the attributes, and the text of each section."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.sections: list[Section] = []
        self._cell: list[str] | None = None
        self._pending: str | None = None
        self.feed(document)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "h2":
            self.sections.append(Section())
        if tag in ("h2", "dt", "dd", "li", "th", "td"):
            self._cell = []
        if tag == "tr" and self.sections:
            self.sections[-1].rows.append([])

    def handle_endtag(self, tag: str) -> None:
        if self._cell is None or tag not in ("h2", "dt", "dd", "li", "th", "td"):
            return
        text = " ".join("".join(self._cell).split())
        self._cell = None
        if not self.sections:
            return
        section = self.sections[-1]
        if tag == "h2":
            section.title = text
        elif tag == "dt":
            self._pending = text
        elif tag == "dd" and self._pending is not None:
            section.facts[self._pending] = text
        elif tag == "li":
            section.items.append(text)
        elif section.rows:
            section.rows[-1].append(text)

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def markdown_page(markdown: str) -> Page:
    """Markdown as a permissive renderer shows it (raw HTML let through), read as a page."""
    return Page(MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(markdown))


def assert_inert(page: Page, document: str, tags: tuple[str, ...], own: frozenset[str] = frozenset()) -> None:
    """Nothing of the typed text became markup (`own`: the page's own tags of that kind), and each field's text
    is there, as typed."""
    opened = {tag for tag, _ in page.tags}
    assert not opened & {"script", "img", "em", "s", "del", "pre", "code", "blockquote", "hr", "h3"} - own, opened
    assert not any(attrs.get("href", "").startswith("javascript") for tag, attrs in page.tags if tag == "a")
    assert not any(name.startswith("on") for _, attrs in page.tags for name in attrs)
    text = "".join(page.text)
    for tag in tags:
        assert f"<script>alert('{tag}')</script> *{tag}*" in text, tag
    for control in CONTROLS:
        assert control not in document, repr(control)


async def hostile_use(app) -> int:
    app.config.directions["numerique"] = DirectionConfig(label=CONFIGURED["direction"], managers=["console:manager"])
    role = app.config.roles["numerique-responsable"]
    app.config.roles["numerique-responsable"] = RoleConfig(**{**role.model_dump(), "label": CONFIGURED["role"]})
    n = await submitted(Chat(app, user="console:agent"), TYPED)
    await Chat(app).say(f"réserves {n} {COMMENT}", user="console:nr")
    return n


async def test_hostile_text_in_every_field_comes_out_inert_in_html_and_markdown(app, clock):
    n = await hostile_use(app)
    items = await entries(app.db, app.questionnaire, app.config)
    assert [i["id"] for i in items] == [n]
    for fmt, read in (("html", Page), ("md", markdown_page)):
        document = export(items, fmt, clock.now, head=await head(app.db))
        page = read(document)
        assert_inert(page, document, TAGS)
        assert [tag for tag, _ in page.tags].count("h2") == 1  # the purpose's "# heading" made no heading
    async with app.db.reading() as tx:
        report = await build(tx, app.questionnaire, app.config, n)
    assert report is not None
    fiche = to_html(report, b"png")
    page = Page(fiche)
    assert_inert(page, fiche, REPORT_TAGS, own=frozenset({"img"}))
    assert [tag for tag, _ in page.tags].count("img") == 1  # the compass, and nothing else
    markdown = to_markdown(report)
    assert_inert(markdown_page(markdown), markdown, REPORT_TAGS, own=frozenset({"em"}))  # the questions' own


def city_templates(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "layout.html").write_text(  # the city's own frame for every HTML page, with its name
        '<!DOCTYPE html><html lang="{{ t.locale }}"><head><title>{% block title %}{% endblock %}</title></head>'
        "<body><header><p>Ville de Nantes</p></header><main>{% block main %}{% endblock %}</main>"
        "{% block footer %}{% endblock %}</body></html>\n", encoding="utf-8")
    # a city's Markdown template that forgets the escaping filter: the text must come out escaped all the same
    (folder / "register.md").write_text("# Registre de la ville\n\n{% for use in uses %}\n- {{ use.item.name }}\n"
                                        "{% endfor %}\n", encoding="utf-8")
    return folder


async def test_a_citys_template_replaces_the_packaged_one_of_the_same_name(app, clock, tmp_path):
    n = await hostile_use(app)
    folder = city_templates(tmp_path / "gabarits")
    items, audit_head = await snapshot(app.db, app.questionnaire, app.config)
    page = export(items, "html", clock.now, head=audit_head, template_dir=folder)
    assert "<header><p>Ville de Nantes</p></header>" in page and "<style>" not in page
    assert "Liste des usages" in page  # the packaged register.html, in the city's frame
    assert_inert(Page(page), page, TAGS)  # the city's HTML is autoescaped too
    markdown = export(items, "md", clock.now, head=audit_head, template_dir=folder)
    assert markdown.startswith("# Registre de la ville\n")
    assert_inert(markdown_page(markdown), markdown, ("NAME",))
    assert "\\*NAME\\*" in markdown and "&lt;script&gt;" in markdown  # escaped without the filter
    async with app.db.reading() as tx:
        report = await build(tx, app.questionnaire, app.config, n)
    assert report is not None
    assert "Ville de Nantes" in to_html(report, b"png", template_dir=folder)
    assert "Ville de Nantes" not in to_html(report, b"png")
    assert to_markdown(report, template_dir=folder) == to_markdown(report)  # no report.md there: the packaged one


async def test_the_command_line_takes_the_template_folder_from_an_option_or_the_config(app, clock, db_path, tmp_path):
    await populated(app, clock)
    folder = city_templates(tmp_path / "gabarits")
    config = tmp_path / "boussole.toml"
    config.write_text('[pages]\ntemplate_dir = "gabarits"\n', encoding="utf-8")  # relative: follows the file

    def boussole(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "bot", *args, "--db", str(db_path)], capture_output=True,
                              text=True, cwd=ROOT, timeout=60, check=True)
        return done.stdout

    assert "Ville de Nantes" not in boussole("register")
    assert "Ville de Nantes" in boussole("register", "--template-dir", str(folder))
    assert "Ville de Nantes" in boussole("register", "--config", str(config))
    assert boussole("register", "--format", "md", "--config", str(config)).startswith("# Registre de la ville")
    assert "Ville de Nantes" in boussole("report", "1", "--template-dir", str(folder))
    assert "Ville de Nantes" in boussole("report", "1", "--config", str(config))
    for wrong in (["--template-dir", str(tmp_path / "gabarit")], ["--config", str(tmp_path / "typo.toml")]):
        (tmp_path / "typo.toml").write_text('[pages]\ntemplate_dir = "gabarit"\n', encoding="utf-8")
        refused = subprocess.run([sys.executable, "-m", "bot", "register", *wrong, "--db", str(db_path)],
                                 capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert refused.returncode == 2 and "gabarit" in refused.stderr and refused.stdout == "", refused.stderr


async def test_html_markdown_and_csv_carry_the_same_facts_for_each_use(app, clock):
    await populated(app, clock)
    chat = Chat(app, user="console:erin")  # and one published without detail
    n = await submitted(chat, {"ctx_name": "Vidéoprotection", "c6_register": "non",
                               "c6_register_reason": "Sûreté des bâtiments publics"})
    for reviewer in ("console:nr", "console:juriste"):
        await chat.say(f"valider {n}", user=reviewer)
    items, audit_head = await snapshot(app.db, app.questionnaire, app.config)
    assert len(items) == 3
    html_page = Page(export(items, "html", clock.now, head=audit_head))
    md_page = markdown_page(export(items, "md", clock.now, head=audit_head))
    rows = list(csv.DictReader(io.StringIO(export(items, "csv", clock.now, head=audit_head).removeprefix("\ufeff"))))
    assert len(html_page.sections) == len(md_page.sections) == len(rows) - 1 == 3  # the last row: the audit head
    for item, in_html, in_md, in_csv in zip(items, html_page.sections, md_page.sections, rows, strict=False):
        assert in_html.title == in_md.title == f"{in_csv['N°']}. {in_csv['Nom']}"
        facts = in_html.facts
        assert {"Hébergement", "Exploitant", "Rôles ayant décidé"} <= set(facts) or not item["detailed_publication"]
        listed = dict(line.split(" : ", 1) for line in in_md.items)
        assert listed == facts
        assert {label: in_csv[label] or "—" for label in facts} == facts
        shown = [key for key in in_csv if key.startswith(("Critère ", "Finalité", "Publication"))]
        assert all(in_csv[key] == "" for key in in_csv if key not in facts and key not in shown
                   and key not in ("N°", "Nom")), in_csv
        # the criteria: the same status in words in every format
        statuses = [row[1] for row in in_html.rows[1:]]
        assert statuses == [row[1] for row in in_md.rows[1:]]
        assert statuses == [in_csv[f"Critère {k}"].split(" : ")[0] for k in range(1, 8) if in_csv[f"Critère {k}"]]
        assert all(s.split(" ", 1)[1] in ("conforme", "à vérifier", "bloquant") for s in statuses)
    first = rows[0]
    assert first["Statut"] == "validé avec réserves" and first["Rôles ayant décidé"] == "Numérique responsable"
    assert first["Hébergement"] == "Sur les serveurs de la collectivité"
    assert rows[2]["Publication"] == "publication détaillée non autorisée — motif : Sûreté des bâtiments publics"
    codes = ("approved_with_reservations", "to_check:", "ok:", "blocker", "numerique")
    for row in rows[:-1]:
        assert not [cell for cell in row.values() for code in codes if code in cell], row


async def test_pages_show_dates_in_the_readers_zone_and_counts_in_words(app, clock):
    await populated(app, clock)
    items, audit_head = await snapshot(app.db, app.questionnaire, app.config)
    clock.now = clock.now.replace(hour=23, minute=30)  # 23:30 UTC is already the next day in Paris
    for fmt in ("html", "md", "csv"):
        text = export(items, fmt, clock.now, head=audit_head)
        assert not ISO_DATE.search(text), (fmt, ISO_DATE.search(text))
        assert "(s)" not in text, fmt
    html_page = export(items, "html", clock.now, head=audit_head)
    assert "Généré le 03/03/2026 00:30. 2 usages." in html_page
    assert f"{audit_head.count} enregistrements, empreinte du dernier" in html_page
    english = export(items, "md", clock.now, head=audit_head, locale="en")
    assert "Generated on 2026-03-03 00:30. 2 uses." in english and "- Hosting: " in english
    async with app.db.reading() as tx:
        report = await build(tx, app.questionnaire, app.config, 1)
    assert report is not None
    assert report["decisions"][0]["at"].startswith("2026-03-02T08:00")  # stored in UTC, shown in Paris time
    fiche = to_markdown(report)
    assert not ISO_DATE.search(fiche)
    assert "02/03/2026 09:00 — Numérique responsable (nr) : " in fiche


async def test_the_report_names_questions_not_their_ids(app, clock):
    await populated(app, clock)  # no. 4 went on past a blocker with an exceptional review
    async with app.db.reading() as tx:
        report = await build(tx, app.questionnaire, app.config, 4)
    assert report is not None and report["exceptions"]
    for page in (to_markdown(report), to_html(report, b"png")):
        assert "c1_biometric" not in page
        assert "Identification biométrique" in page and "obligation réglementaire de sûreté du site" in page


async def test_the_citys_own_copy_shows_a_use_published_without_detail_in_full(app, clock):
    chat = Chat(app)
    n = await submitted(chat, {"c6_register": "non", "c6_register_reason": "Sûreté des bâtiments publics"})
    for reviewer in ("console:nr", "console:juriste"):
        await chat.say(f"valider {n}", user=reviewer)
    for internal in (False, True):
        items, audit_head = await snapshot(app.db, app.questionnaire, app.config, internal=internal)
        for fmt in ("html", "md", "csv"):
            text = export(items, fmt, clock.now, head=audit_head)
            assert "publication détaillée non autorisée — motif : Sûreté des bâtiments publics" in text, fmt
            for detail in ("Classer automatiquement", "Modèle de classification local", "Chef du service courrier"):
                assert (detail in text) is internal, (fmt, internal, detail)


CODES = {"status", "decision_date", "next_review", "at", "decided_at", "level", "levels", "locale"}  # not text


def poisoned(value: object, key: str = "") -> object:
    """`value` with every text replaced by hostile text named after its key (codes and instants kept)."""
    if isinstance(value, dict):
        return {k: v if k in CODES else poisoned(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [poisoned(v, key) for v in value]
    if isinstance(value, str):
        return hostile(key.upper().replace("_", "")) + "\x1b[31m\u202e\x00\x07"
    return value


async def test_every_text_field_of_every_page_is_escaped(app, clock):
    """Whatever the fields hold — typed answers, config labels, questionnaire words — none becomes markup."""
    await populated(app, clock)
    items, audit_head = await snapshot(app.db, app.questionnaire, app.config)
    hostile_items = poisoned(items)
    assert isinstance(hostile_items, list)
    not_shown = {"publication_note", "status_label", "recommendation"}  # the JSON's: pages say it their own way
    tags = tuple(key.upper().replace("_", "") for key, value in items[0].items()
                 if isinstance(value, str) and value and key not in CODES | not_shown)
    assert len(tags) >= 12, tags
    html_page = export(hostile_items, "html", clock.now, head=audit_head)
    assert_inert(Page(html_page), html_page, (*tags, "TITLE", "REASONS"))
    md_page = export(hostile_items, "md", clock.now, head=audit_head)
    assert_inert(markdown_page(md_page), md_page, (*tags, "TITLE", "REASONS"))
    async with app.db.reading() as tx:
        report = await build(tx, app.questionnaire, app.config, 4)
    hostile_report = poisoned(report)
    assert isinstance(hostile_report, dict)
    report_tags = ("TITLE", "REQUESTER", "QUESTION", "ANSWER", "ROLE", "REVIEWER", "COMMENT", "HISTORY",
                   "IMPACT", "REASONS", "RECOMMENDATION", "QUESTIONNAIREVERSION")
    fiche = to_html(hostile_report, b"png")
    assert_inert(Page(fiche), fiche, report_tags, own=frozenset({"img"}))
    markdown = to_markdown(hostile_report)
    assert_inert(markdown_page(markdown), markdown, report_tags, own=frozenset({"em"}))
