"""Command-line entry point: `boussole console | run | reminders | digest | migrate`.

The only place that turns a configuration or questionnaire error into an exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.app import Boussole
from bot.config import Config, ConfigError, load_config
from bot.storage import Database, StorageError
from conversations.questionnaire import QuestionnaireError, load_questionnaire

logger = logging.getLogger("boussole")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="boussole", description="Boussole: the AI-doctrine compass bot.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug information")
    sub = parser.add_subparsers(dest="command")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", type=Path, help="TOML configuration file (default: embedded demo setup)")
        p.add_argument("--db", type=Path, help="SQLite database file (overrides [storage] path)")

    console = sub.add_parser("console", help="talk to the bot in this terminal")
    common(console)
    console.add_argument("--as", dest="user", help="who you are at start (console:NAME; default from config)")
    console.add_argument("--json", action="store_true", help="JSON line protocol for scripts and tests")

    migrate = sub.add_parser("migrate", help="create or upgrade the database, then exit")
    common(migrate)
    return parser


def _setup(args: argparse.Namespace) -> tuple[Config, Boussole]:
    config = load_config(args.config)
    if args.db is not None:
        config = config.model_copy(update={"storage": config.storage.model_copy(update={"path": args.db})})
    questionnaire = load_questionnaire(config.questionnaire)
    app = Boussole(config=config, questionnaire=questionnaire, db=Database(config.storage.path))
    return config, app


async def _console(args: argparse.Namespace) -> int:
    from adapters.console import ConsoleAdapter
    config, app = _setup(args)
    async with app.db:
        adapter = ConsoleAdapter(app, user=args.user or config.console.user, json_mode=args.json)
        await adapter.run()
    return 0


async def _migrate(args: argparse.Namespace) -> int:
    _config, app = _setup(args)
    async with app.db as db:
        print(f"{db.path}: schema version {await db.schema_version()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    command = args.command or "console"
    if args.command is None:
        args = _parser().parse_args(["console", *(argv or [])])
    runners = {"console": _console, "migrate": _migrate}
    try:
        return asyncio.run(runners[command](args))
    except (ConfigError, QuestionnaireError, StorageError) as exc:
        print(f"boussole: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
