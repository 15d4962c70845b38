"""Command-line entry point: `boussole console | run | reminders | digest | migrate | matrix setup | doctor matrix`.

The only place that turns a configuration or questionnaire error into an exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import Boussole
from bot.config import Config, ConfigError, load_config
from bot.storage import Database, StorageError
from conversations.questionnaire import QuestionnaireError, load_questionnaire

logger = logging.getLogger("boussole")


TEMPLATE_DIR_HELP = ("folder of the city's own templates: a file there replaces the packaged one of the same name "
                     "(default: [pages] template_dir)")


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

    run = sub.add_parser("run", help="start every transport enabled in the config, with the scheduler")
    common(run)

    register = sub.add_parser("register", help="export the public register of AI uses")
    common(register)
    register.add_argument("--format", choices=["csv", "json", "md", "html"], default="html")
    register.add_argument("--out", type=Path, help="file to write (default: standard output)")
    register.add_argument("--all", action="store_true", help="add uses in review, rejected and withdrawn")
    register.add_argument("--internal", action="store_true",
                          help="add requesters, reviewers' comments and justifications (not for publication)")
    register.add_argument("--template-dir", type=Path, help=TEMPLATE_DIR_HELP)

    report = sub.add_parser("report", help="the full report of one assessment, with the compass picture")
    common(report)
    report.add_argument("id", type=int, help="the assessment number")
    report.add_argument("--format", choices=["md", "html"], default="html")
    report.add_argument("--out", type=Path, help="file to write (default: standard output)")
    report.add_argument("--template-dir", type=Path, help=TEMPLATE_DIR_HELP)

    audit = sub.add_parser("audit", help="check or export the tamper-evident audit trail, or print its head")
    common(audit)
    audit.add_argument("action", choices=["verify", "export", "head"])
    audit.add_argument("--format", choices=["jsonl"], default="jsonl")
    audit.add_argument("--id", type=int, help="only this assessment's records (export)")
    audit.add_argument("--checkpoint", action="append", default=[], type=_checkpoint, metavar="N:HASH",
                       help="a head published earlier (`audit head`, a digest, a register): record N must still "
                            "have that hash (verify; may be repeated)")

    matrix = sub.add_parser("matrix", help="set up the bot's Matrix identity (cross-signing, recovery key)")
    common(matrix)
    matrix.add_argument("action", choices=["setup"])
    matrix.add_argument("--reset", action="store_true", help="replace the account's cross-signing identity")
    matrix.add_argument("--new-recovery-key", action="store_true",
                        help="store the keys in secret storage again, under a new recovery key")

    doctor = sub.add_parser("doctor", help="check a transport's connection and trust, then exit")
    common(doctor)
    doctor.add_argument("transport", choices=["matrix"])

    migrate = sub.add_parser("migrate", help="create or upgrade the database, then exit")
    common(migrate)

    reminders = sub.add_parser("reminders", help="run the reminder sweep now (or as of --at), then exit")
    common(reminders)
    reminders.add_argument("--at", type=_instant, help="the sweep's instant, e.g. 2027-06-01T09:00 (in the "
                                                       "configured timezone unless an offset is given); default: now")
    reminders.add_argument("--dry-run", action="store_true", help="say what would be sent; change nothing")

    digest = sub.add_parser("digest", help="send the managers' and reviewers' digests, then exit")
    common(digest)
    digest.add_argument("--now", action="store_true", required=True, help="send them immediately")
    digest.add_argument("--manager", help="only this recipient (an identity such as console:manager)")
    digest.add_argument("--dry-run", action="store_true", help="say what would be sent; change nothing")
    return parser


def _instant(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date-time such as 2027-06-01T09:00") from None
    return moment  # without an offset: in the configured timezone, known once the config is read (`in_zone`)


def in_zone(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """An instant typed without an offset, read in the configured zone; in UTC."""
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)).astimezone(dt.UTC)


def _setup(args: argparse.Namespace) -> tuple[Config, Boussole]:
    config = load_config(args.config)
    if args.db is not None:
        config = config.model_copy(update={"storage": config.storage.model_copy(update={"path": args.db})})
    questionnaire = load_questionnaire(config.questionnaire)
    config.check_against(questionnaire)  # raises ConfigError; logs the warnings
    app = Boussole(config=config, questionnaire=questionnaire, db=Database(config.storage.path))
    return config, app


async def _console(args: argparse.Namespace) -> int:
    from adapters.console import ConsoleAdapter
    config, app = _setup(args)
    from bot.scheduler import Scheduler
    async with app.db:
        adapter = ConsoleAdapter(app, user=args.user or config.console.user, json_mode=args.json)
        scheduler = Scheduler(app)
        if not args.json:  # scripted runs stay deterministic: reminders come from `boussole reminders`
            await scheduler.start()
        try:
            await adapter.run()
        finally:
            scheduler.stop()
    return 0


async def _run(args: argparse.Namespace) -> int:
    """Run until SIGTERM or SIGINT; then stop taking events, finish the steps under way, and exit."""
    from bot.scheduler import Scheduler
    config, app = _setup(args)
    adapters: list[Any] = []
    if config.slack.enabled:
        from adapters.slack.adapter import SlackAdapter
        adapters.append(SlackAdapter(app, config.slack, config.slack.secrets(os.environ)))
    if config.matrix.enabled:
        from adapters.matrix.adapter import MatrixAdapter
        adapters.append(MatrixAdapter(app, config.matrix, config.matrix.secrets(os.environ)))
    if not adapters:
        raise ConfigError("no transport is enabled: set `enabled = true` under [slack] (or [matrix]) in the "
                          "config file, or talk to the bot in the terminal with `boussole console`")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with app.db:
        scheduler = Scheduler(app)
        for adapter in adapters:
            await adapter.start()
        await scheduler.start()
        names = ", ".join(type(a).__name__ for a in adapters)
        print(f"boussole: running ({names}); database {app.db.path}", file=sys.stderr, flush=True)
        for adapter in adapters:
            if getattr(adapter, "port", None):
                print(f"boussole: listening on port {adapter.port}", file=sys.stderr, flush=True)
            trust = getattr(adapter, "trust", None)
            if trust is not None and trust.recovery_key:  # a new Matrix identity: its recovery key, shown once
                print(f"boussole: Matrix recovery key (shown once; keep it safe, MATRIX_RECOVERY_KEY recovers the "
                      f"bot's identity on a new installation): {trust.recovery_key}", file=sys.stderr, flush=True)
        await stop.wait()
        print("boussole: stopping", file=sys.stderr, flush=True)
        scheduler.stop()
        for adapter in adapters:
            await adapter.stop()
    return 0


async def _reminders(args: argparse.Namespace) -> int:
    from bot.reminders import sweep
    _config, app = _setup(args)
    async with app.db:
        notices = await sweep(app, in_zone(args.at, app.config.zone) if args.at else app.clock(),
                              dry_run=args.dry_run)
    for notice in notices:
        print(notice.line())
    return 0


async def _digest(args: argparse.Namespace) -> int:
    from bot.digest import run_digests
    _config, app = _setup(args)
    async with app.db:
        now = app.clock()
        notices = await run_digests(app, now, slot=f"manual:{now.isoformat()}", only=args.manager,
                                    dry_run=args.dry_run)
    for notice in notices:
        print(notice.line())
    return 0


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8", newline="")
        print(f"boussole: written {out}", file=sys.stderr)


def _template_dir(args: argparse.Namespace, config: Config) -> Path | None:
    """The city's template folder, from the option or the config: one that is not there is an error, not a silent
    fall back to the packaged templates."""
    folder: Path | None = args.template_dir or config.pages.template_dir
    if folder is not None and not folder.is_dir():
        raise ConfigError(f"template folder '{folder}' not found (--template-dir or [pages] template_dir)")
    return folder


async def _register(args: argparse.Namespace) -> int:
    from bot.register import export, snapshot
    config, app = _setup(args)
    template_dir = _template_dir(args, config)
    async with app.db:
        items, audit_head = await snapshot(app.db, app.questionnaire, config, include_all=args.all,
                                           internal=args.internal)
    _write(export(items, args.format, app.clock(), head=audit_head, locale=config.locale, zone=config.zone,
                  template_dir=template_dir),
           args.out)
    return 0


async def _report(args: argparse.Namespace) -> int:
    from bot.report import build, to_html, to_markdown
    config, app = _setup(args)
    template_dir = _template_dir(args, config)
    async with app.db, app.db.reading() as tx:
        report = await build(tx, app.questionnaire, config, args.id, app.versions)
    if report is None:
        print(f"boussole: no assessment no. {args.id} in {app.db.path}", file=sys.stderr)
        return 1
    _write(to_markdown(report, zone=config.zone, template_dir=template_dir) if args.format == "md"
           else to_html(report, zone=config.zone, template_dir=template_dir), args.out)
    return 0


def _checkpoint(text: str) -> object:
    """The type of --checkpoint: an AuditHead, or a message saying what to give."""
    from bot.audit import parse_checkpoint
    try:
        return parse_checkpoint(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


async def _audit(args: argparse.Namespace) -> int:
    import json

    from bot.audit import export_jsonl, head, verify
    _config, app = _setup(args)
    async with app.db:
        if args.action == "head":
            print(json.dumps((await head(app.db)).as_json()))
            return 0
        if args.action == "verify":
            result = await verify(app.db, args.checkpoint)
            if result.intact:
                print(f"audit trail intact: {result.records} record(s), hash chain verified, "
                      f"{result.checkpoints} checkpoint(s) held, assessments and reviews agree with it; "
                      f"head {result.head.checkpoint}")
                return 0
            if result.first_broken is not None:
                print(f"audit trail BROKEN at record {result.first_broken}: {result.reason}")
            elif result.assessment is not None:
                print(f"audit trail CONTRADICTED by the database: {result.reason}")
            else:
                print(f"audit trail TRUNCATED or REWRITTEN: {result.reason}")
            return 1
        for line in await export_jsonl(app.db, args.id):
            print(line)
    return 0


async def _matrix(args: argparse.Namespace) -> int:
    from adapters.matrix.admin import setup
    config, app = _setup(args)
    async with app.db:
        report = await setup(app, config.matrix, config.matrix.secrets(os.environ), reset=args.reset,
                             new_recovery_key=args.new_recovery_key)
    print("\n".join(report.lines))
    return 0 if report.ok else 1


async def _doctor(args: argparse.Namespace) -> int:
    from adapters.matrix.admin import doctor
    config, app = _setup(args)
    async with app.db:
        report = await doctor(app, config.matrix, config.matrix.secrets(os.environ))
    print("\n".join(report.lines))
    return 0 if report.ok else 1


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
    runners = {"console": _console, "run": _run, "migrate": _migrate, "reminders": _reminders, "digest": _digest,
               "register": _register, "audit": _audit, "report": _report, "matrix": _matrix, "doctor": _doctor}
    try:
        return asyncio.run(runners[command](args))
    except (ConfigError, QuestionnaireError, StorageError) as exc:
        print(f"boussole: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
