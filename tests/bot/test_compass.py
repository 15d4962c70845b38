"""The compass picture: readable alone (title, names, legend, French text), drawn after the step's commit in a
worker thread while the database is free, delivered even after a crash, and described in words."""

from __future__ import annotations

import io
import sqlite3
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageChops

import bot.compass
from bot.app import Boussole
from bot.compass import (
    Fonts,
    Picture,
    Sector,
    compass_png,
    demo_picture,
    describe,
    draw,
    main,
    status_of,
    wrap,
)
from bot.i18n import Translator
from conversations.questionnaire import Level
from tests.helpers import Chat, event, submitted


def _png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image


def test_every_french_letter_is_drawn_as_itself():
    """Pillow's own bundled font draws é, à, ç, œ… as its "missing glyph" box: the shipped font must not."""
    fonts = Fonts.load()
    missing = bytes(fonts.label.getmask("\U0010fffd"))
    for char in "éèêàâçùûîïôœŒÉÀÇ«»—·°":
        for font in (fonts.label, fonts.heading):
            assert bytes(font.getmask(char)) != missing, char


def test_the_picture_is_wide_and_every_status_has_a_word():
    picture = demo_picture()
    image = _png(draw(picture))
    assert image.width >= 800 and image.height >= 700
    assert dict(picture.legend) == {"ok": "conforme", "to_check": "à vérifier", "blocker": "bloquant",
                                    "incomplete": "à compléter"}
    assert picture.heading == "Boussole — usage n°12" and "29 novembre 2026" in picture.subtitle
    assert "questionnaire 2025.1" in picture.subtitle


def test_the_four_statuses_differ_in_grey():
    """Printed in grey, green and red are as dark as each other, amber and grey as light: only the shapes tell
    them apart. Seven sectors of one status against seven of another, in black and white, differ by thousands
    of pixels (the same shapes would differ by a few hundred, at the edges)."""
    def silhouette(status: str) -> Image.Image:
        sectors = tuple(Sector(n, f"Critère {n}", status) for n in range(1, 8))
        picture = Picture(heading="Boussole", title="", subtitle="", sectors=sectors, legend=(), alt="")
        return _png(draw(picture)).convert("L").point(lambda v: 255 if v > 128 else 0)

    for one, other in (("ok", "blocker"), ("to_check", "incomplete")):
        assert ImageChops.difference(silhouette(one), silhouette(other)).histogram()[255] > 2000, (one, other)


def test_a_hostile_title_is_bounded_and_shown_not_obeyed():
    t = Translator("fr")
    title = "Outil\x1b[31m\u202e de tri\n\n" + "très long " * 60
    picture = describe(number=7, title=title, version="2025.1", when="2026-11-29T23:30:00+00:00", t=t,
                       criteria=[(n, f"Critère {n}", "ok") for n in range(1, 8)])
    assert picture.title.startswith("Outil[31m de tri très long") and "\x1b" not in picture.title
    assert "\u202e" not in picture.title and "\n" not in picture.title
    assert len(picture.title) == bot.compass.MAX_TITLE and picture.title.endswith("…")
    assert "30 novembre 2026" in picture.subtitle   # 23:30 UTC is the next day in Paris
    assert _png(draw(picture)).width == bot.compass.WIDTH


def test_a_name_is_wrapped_to_fit_and_a_word_too_long_is_cut():
    font = Fonts.load().label   # drawn at twice the finished size
    lines = wrap("Absence d'identification biométrique et de données sensibles", font, 600, 4)
    assert len(lines) > 1 and all(font.getlength(line) <= 600 for line in lines)
    assert " ".join(lines) == "Absence d'identification biométrique et de données sensibles"
    cut = wrap("Mot" * 80, font, 600, 4)
    assert len(cut) == 1 and cut[0].endswith("…") and font.getlength(cut[0]) <= 600
    assert wrap("un deux trois " * 40, font, 600, 2)[-1].endswith("…")


def test_a_criterion_waiting_for_answers_is_to_complete_unless_something_was_found():
    assert status_of(Level.OK, unanswered=2) == "incomplete"
    assert status_of(Level.OK) == "ok"
    assert status_of(Level.BLOCKER, unanswered=2) == "blocker"


def test_the_picture_survives_its_trip_through_the_outbox():
    picture = demo_picture("en")
    assert Picture.from_json(picture.to_json()) == picture
    assert "Criterion 6, Transparency and accountability: blocker." in picture.alt


def test_the_demo_command_writes_the_readme_picture(tmp_path, capsys):
    out = tmp_path / "docs" / "boussole-compass.png"
    assert main(["demo", str(out)]) == 0
    assert _png(out.read_bytes()).width >= 800
    assert main([]) == 2


async def test_the_report_is_drawn_after_the_commit_in_a_worker_thread_with_the_database_free(
        app, db_path, monkeypatch):
    chat = Chat(app)
    n = await submitted(chat, {"c2_ciso": "non"})
    calls: list[tuple[int, bool]] = []
    real_draw = bot.compass.draw

    def watched(picture: Picture) -> bytes:
        with sqlite3.connect(db_path, timeout=0) as raw:  # fails at once if a write transaction were open
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("ROLLBACK")
        calls.append((threading.get_ident(), True))
        return real_draw(picture)

    monkeypatch.setattr(bot.compass, "draw", watched)
    await app.handle(event(chat.user, f"rapport {n}"))
    image, page = app.reports_dir / f"boussole-{n}.png", app.reports_dir / f"boussole-{n}.html"
    assert not calls and not image.exists() and not page.exists()   # the step committed without drawing
    start = len(chat.inbox)
    await app.deliver("console", chat._collect)
    ready = chat.inbox[start]
    assert ready.key == "report.ready"
    assert calls and calls[0][0] != threading.get_ident()
    assert Path(ready.attachment["image"]) == image and _png(image.read_bytes()).width >= 800
    assert "data:image/png;base64," in page.read_text(encoding="utf-8")
    assert sorted(p.name for p in app.reports_dir.iterdir()) == [page.name, image.name]   # nothing half-written
    assert "Critère 2, Conformité juridique et cybersécurité : à vérifier." in ready.attachment["alt"]


async def test_a_crash_between_the_commit_and_the_drawing_still_ends_with_the_report(
        app, config, questionnaire, db_path, clock):
    chat = Chat(app)
    n = await submitted(chat)
    await app.handle(event(chat.user, f"rapport {n}"))   # committed; the process dies before delivering
    from bot.storage import Database
    db = await Database(db_path).open()
    try:
        restarted = Boussole(config=config, questionnaire=questionnaire, db=db, clock=clock)
        delivered = Chat(restarted)
        await restarted.deliver("console", delivered._collect)
    finally:
        await db.close()
    ready = next(r for r in delivered.inbox if r.key == "report.ready")
    assert Path(ready.attachment["image"]).is_file() and Path(ready.attachment["file"]).is_file()


async def test_a_drawing_that_fails_lets_the_reply_go_without_the_picture(app, monkeypatch):
    chat = Chat(app)
    n = await submitted(chat)

    def broken(picture: Picture) -> bytes:
        raise OSError("disk full")

    monkeypatch.setattr(bot.compass, "draw", broken)
    replies = await chat.say(f"rapport {n}")
    assert replies[0].key == "report.ready" and replies[0].attachment is None
    assert not await app.undelivered("console")   # the outbox moved on


@pytest.mark.parametrize(("locale", "words"), [
    ("fr", ("Boussole — usage n°1", "Critère 1, Absence d'identification biométrique et de données sensibles : "
            "conforme.")),
    ("en", ("Boussole — use no. 1", "Criterion 1, No biometric identification and no sensitive data: compliant.")),
])
async def test_the_picture_speaks_its_readers_language(app, locale, words):
    chat = Chat(app)
    n = await submitted(chat)
    await chat.say(f"langue {locale}" if locale == "fr" else "language en")
    ready = next(r for r in await chat.say(f"rapport {n}") if r.key == "report.ready")
    picture = Picture.from_json(ready.attachment["picture"])
    assert picture.heading == words[0] and words[1] in ready.attachment["alt"]


def test_the_command_lines_report_gets_the_same_picture_in_french():
    report = {"id": 4, "title": "Agent conversationnel", "questionnaire_version": "2025.1",
              "criteria": [{"number": n, "title": f"Critère {n}", "level": "to_check" if n == 2 else "ok",
                            "unanswered": 0} for n in range(8)]}
    assert _png(compass_png(report)).size == (1000, 1000)
