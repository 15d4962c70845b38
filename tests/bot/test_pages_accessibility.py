"""The register and the report pass axe-core's accessibility checks in headless Chromium (Debian's).

axe-core comes from npm with the lock file in tests/bot/axe/ (`make test` installs it). A copy of the page,
with axe.min.js and a few lines that run it, is opened from file://; the script writes the violations into
the page, which Chromium prints (--dump-dom) once its virtual time has run out. Any violation fails the
test and is printed: the rule, its help, and the elements it found.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.audit import head
from bot.register import entries, export
from bot.report import build, to_html
from tests.bot.test_register import populated
from tests.bot.test_register_browser import FLAGS, chromium
from tests.helpers import Chat, submitted

AXE = Path(__file__).with_name("axe") / "node_modules" / "axe-core" / "axe.min.js"
RESULTS = re.compile(r'<pre id="axe-results">(.*?)</pre>', re.S)
RUN_AXE = """
<script src="axe.min.js"></script>
<script>
axe.run(document, {resultTypes: ["violations"]}).then(
  (results) => show(results.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                                      nodes: v.nodes.map((n) => n.html)}))),
  (error) => show([{id: "axe-error", impact: "critical", help: String(error), nodes: []}]));
function show(found) {
  const out = document.createElement("pre");
  out.id = "axe-results";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
}
</script>
"""


def axe_violations(page: str, folder: Path) -> list[dict[str, Any]]:
    """axe-core's violations on `page`, run in headless Chromium."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make test` (or `npm ci` in {AXE.parent.parent.parent})")
    browser = chromium()
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(AXE, folder / "axe.min.js")
    checked = folder / "page.html"
    checked.write_text(page.replace("</body>", RUN_AXE + "</body>"), encoding="utf-8")
    dom = subprocess.run([browser, *FLAGS, f"--user-data-dir={folder / 'profile'}", "--allow-file-access-from-files",
                          "--virtual-time-budget=60000", "--dump-dom", checked.as_uri()],
                         capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = RESULTS.search(dom.stdout)
    assert found is not None, "axe-core did not report (was the script loaded?)\n" + dom.stderr[-2000:]
    return list(json.loads(html.unescape(found[1])))


def described(violations: list[dict[str, Any]]) -> str:
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"][:5])
                     for v in violations)


async def test_the_register_page_passes_axe(app, clock, tmp_path):
    await populated(app, clock)
    items = await entries(app.db, app.questionnaire, app.config, include_all=True)
    page = export(items, "html", clock.now, head=await head(app.db))
    violations = axe_violations(page, tmp_path)
    assert violations == [], described(violations)


async def test_the_english_register_page_passes_axe(app, clock, tmp_path):
    await populated(app, clock)
    items = await entries(app.db, app.questionnaire, app.config)
    page = export(items, "html", clock.now, head=await head(app.db), locale="en")
    assert '<html lang="en">' in page and "Register of artificial intelligence uses" in page
    violations = axe_violations(page, tmp_path)
    assert violations == [], described(violations)


async def test_the_report_page_passes_axe(app, tmp_path):
    chat = Chat(app)
    n = await submitted(chat, {"c2_ciso": "non"})
    await chat.say(f"réserves {n} suivi trimestriel", user="console:nr")
    async with app.db.reading() as tx:
        report = await build(tx, app.questionnaire, app.config, n)
    assert report is not None
    violations = axe_violations(to_html(report), tmp_path)
    assert violations == [], described(violations)


def test_a_page_with_a_fault_is_caught(tmp_path):
    """The check can fail: an image without text, and a page without a language."""
    page = "<!DOCTYPE html><html><head><title>x</title></head><body><main><img src='x.png'></main></body></html>"
    found = {v["id"] for v in axe_violations(page, tmp_path)}
    assert {"image-alt", "html-has-lang"} <= found
