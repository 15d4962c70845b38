"""The HTML register as a person sees it: headless Chromium (Debian's, installed when missing) loads and draws it."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from bot.audit import head
from bot.register import entries, export
from tests.bot.test_register import populated

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]


def chromium() -> str:
    """Debian's chromium; the test setup installs it when missing (CI runs as root)."""
    found = shutil.which("chromium")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True, env=env, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, capture_output=True, env=env,
                       timeout=900)
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("Debian's chromium is not installed and cannot be installed here (needs root and apt)")
    return found


async def test_the_published_page_loads_without_errors_and_lists_every_approved_use(app, clock, tmp_path):
    browser = chromium()
    await populated(app, clock)
    items = await entries(app.db, app.questionnaire, app.config)
    page = tmp_path / "registre.html"
    page.write_text(export(items, "html", clock.now, head=await head(app.db)), encoding="utf-8")
    profile = tmp_path / "profile"
    dom = subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console_errors = [line for line in dom.stderr.splitlines() if "CONSOLE" in line and "ERROR" in line.upper()]
    assert console_errors == []
    for item in items:
        assert f'id="usage-{item["id"]}"' in dom.stdout and item["name"] in dom.stdout
    screenshot = tmp_path / "registre.png"
    shot = subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={screenshot}",
                           "--window-size=1280,1600", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    assert screenshot.stat().st_size > 10_000  # something was drawn


async def test_the_readmes_picture_of_the_register_can_be_redrawn(tmp_path):
    """What `make pictures` does, into a temporary folder: the demo register, drawn."""
    from PIL import Image

    from tests.pictures import register_page, screenshot
    chromium()
    page = await register_page(tmp_path)
    text = page.read_text(encoding="utf-8")
    assert text.count('<section id="usage-') == 3 and "⚠️ à vérifier" in text
    picture = tmp_path / "registre.png"
    screenshot(page, picture)
    with Image.open(picture) as drawn:
        assert drawn.size == (1200, 1500)
        shades = drawn.convert("L").getcolors(maxcolors=256) or []
        assert len(shades) > 16  # text and tables, not a blank page
