"""The README's pictures, drawn from a demo database: `make pictures` (python -m tests.pictures).

- docs/registre.png: the HTML register of a populated demo, as headless Chromium (Debian's) draws it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.app import Boussole
from bot.config import demo_config
from bot.register import export, snapshot
from bot.storage import Database
from conversations.questionnaire import load_questionnaire
from tests.helpers import Chat, submitted

DOCS = Path(__file__).resolve().parents[1] / "docs"
START = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
# Uses a city could well publish: (name, purpose, overrides of the clean interview, who decides and how)
DEMO = [
    ("Aide à la rédaction des réponses aux usagers",
     "Proposer un premier jet de réponse aux courriels des usagers, relu et corrigé par un agent avant envoi.",
     {"ctx_direction": "2", "ctx_supplier": "Modèle de langage hébergé en France", "c2_ciso": "non",
      "c6_accountable": "Responsable de l'accueil des usagers"},
     [("console:nr", "valider {n}"), ("console:dpo", "valider {n}"), ("console:juriste", "valider {n}"),
      ("console:rssi", "réserves {n} avis du RSSI à recueillir avant l'ouverture")]),
    ("Tri du courrier entrant",
     "Classer automatiquement les courriers reçus par thème pour les orienter vers le bon service.",
     {}, [("console:nr", "réserves {n} suivi trimestriel du taux d'erreur")]),
    ("Comptage des vélos sur les pistes cyclables",
     "Compter les passages de vélos à partir des images des caméras de trafic, sans conserver les images.",
     {"ctx_direction": "3", "ctx_supplier": "Logiciel de vision par ordinateur, prestataire local"},
     [("console:nr", "valider {n}")]),
]


class Clock:
    """The demo's time: it moves a day for each use, so that the dates differ."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


@asynccontextmanager
async def demo_app(folder: Path) -> AsyncIterator[Boussole]:
    """The demo setup with the uses of DEMO submitted and decided."""
    clock = Clock()
    db = await Database(folder / "demo.sqlite3").open()
    try:
        app = Boussole(config=demo_config(), questionnaire=load_questionnaire(), db=db, clock=clock)
        for index, (name, purpose, overrides, decisions) in enumerate(DEMO):
            n = await submitted(Chat(app, user=f"console:agent{index}"),
                                {"ctx_name": name, "ctx_purpose": purpose, **overrides})
            for reviewer, command in decisions:
                await Chat(app).say(command.format(n=n), user=reviewer)
            clock.now += dt.timedelta(days=1)
        yield app
    finally:
        await db.close()


async def register_page(folder: Path) -> Path:
    async with demo_app(folder) as app:
        items, head = await snapshot(app.db, app.questionnaire, app.config)
        page = folder / "registre.html"
        page.write_text(export(items, "html", app.clock(), head=head), encoding="utf-8")
    return page


def emoji_font() -> None:
    """The status marks (✅ ⚠️ ⛔) drawn in colour: Debian's emoji font, installed when missing and possible."""
    listed = subprocess.run(["fc-list"], capture_output=True, text=True, check=False)
    if "emoji" not in listed.stdout.lower() and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "fonts-noto-color-emoji"], check=False,
                       capture_output=True, env=env, timeout=600)


def screenshot(page: Path, picture: Path, width: int = 1200, height: int = 1500) -> None:
    from tests.bot.test_register_browser import FLAGS, chromium
    emoji_font()
    picture.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", "--hide-scrollbars",
                        f"--screenshot={picture}", f"--window-size={width},{height}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)


async def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        page = await register_page(Path(tmp))
        screenshot(page, DOCS / "registre.png")
    print(f"written {DOCS / 'registre.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
