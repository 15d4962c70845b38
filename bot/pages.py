"""The pages people read — the register and the assessment report — rendered from Jinja2 templates.

The templates ship in `bot/templates/`. A city restyles or rewords them by putting a file of the same
name in its own folder (`[pages] template_dir` in the config, or `--template-dir` on the command line):
that file is used, the packaged one otherwise.

Every text a template prints is escaped for its format:
- HTML templates (`.html`) are autoescaped.
- Markdown templates (`.md`) print user values through the `md` filter (paragraphs and list items) or
  `md_cell` (headings and table cells), both built on `bot.escaping.markdown_text`. Jinja knows no
  Markdown escaping, so as a safety net the environment escapes whatever a template prints without
  those filters too: a forgotten filter (in a city's own template as in ours) shows text, never markup.
Words come from the catalogues (`t`, a `Translator`, in every template's context), dates and times
through `t.date` / `t.when`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined, select_autoescape

from bot.escaping import IN_CELL_BREAK, LINE_BREAK, markdown_text
from bot.i18n import LEVEL_MARK, Translator
from conversations.questionnaire import Level


class MarkdownText(str):
    """Text already escaped for Markdown by one of the filters: printed as it is."""

    __slots__ = ()


def md(value: object, depth: int = 1) -> MarkdownText:
    """Text for a paragraph or a list item `depth` deep: its newlines become hard breaks that stay in the item."""
    return MarkdownText(markdown_text(_text(value), newline=LINE_BREAK + "  " * depth))


def md_cell(value: object) -> MarkdownText:
    """Text for a table cell or a heading, which cannot break a line: its newlines become ` ↵ `."""
    return MarkdownText(markdown_text(_text(value), newline=IN_CELL_BREAK))


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _markdown_finalize(value: object) -> object:
    """What a Markdown template prints: filtered text as it is, numbers as they are, anything else escaped."""
    if isinstance(value, MarkdownText | int):
        return value
    return md_cell(value)


def level_words(t: Translator, level: str) -> str:
    """A criterion's status in words, with its mark (never colour or a sign alone): "⚠️ à vérifier"."""
    return f"{LEVEL_MARK[Level(level)]} {t(f'level.{level}')}"


def _environment(template_dir: Path | None, *, markdown: bool) -> Environment:
    packaged = PackageLoader("bot", "templates")
    loader = ChoiceLoader([FileSystemLoader(template_dir), packaged]) if template_dir is not None else packaged
    environment = Environment(
        loader=loader, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=False),
        finalize=_markdown_finalize if markdown else None)
    environment.filters.update(md=md, md_cell=md_cell)
    return environment


def render(name: str, t: Translator, template_dir: Path | None = None, **context: Any) -> str:
    """The template `name` (`register.html`, `report.md`…) with `context` and `t` in it."""
    template = _environment(template_dir, markdown=name.endswith(".md")).get_template(name)
    return template.render(t=t, **context)
