"""APScheduler 3 jobs that hold no state: the reminder sweep and the digest cron.

The database is the only record of what is due and what was sent; the jobs just read it.
The sweep runs at start (a reminder that fell due while the bot was down goes out once,
then) and every `sweep_seconds`. The digest follows `[digest] cron` in its time zone; a
digest slot missed while the bot was down is sent at start if it is less than
`DIGEST_GRACE` old. Late runs are kept on purpose: APScheduler's default
`misfire_grace_time` of one second would drop them silently.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.digest import run_digests
from bot.reminders import sweep

if TYPE_CHECKING:
    from bot.app import Boussole

logger = logging.getLogger(__name__)
DIGEST_GRACE = dt.timedelta(hours=12)


def digest_trigger(cron: str, zone: str) -> CronTrigger:
    return CronTrigger.from_crontab(cron, timezone=ZoneInfo(zone))


def last_slot(trigger: CronTrigger, now: dt.datetime,
              lookback: dt.timedelta = dt.timedelta(days=8)) -> dt.datetime | None:
    """The most recent instant the cron fired at or before `now` (None if not within `lookback`)."""
    fire = trigger.get_next_fire_time(None, now - lookback)
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + dt.timedelta(seconds=1))
    return last


def slot_key(slot: dt.datetime) -> str:
    return slot.astimezone(dt.UTC).isoformat(timespec="minutes")


class Scheduler:
    """Runs the sweep and the digests inside the bot's event loop."""

    def __init__(self, app: Boussole) -> None:
        self.app = app
        self.scheduler = AsyncIOScheduler(timezone=dt.UTC)
        self.trigger = digest_trigger(app.config.digest.cron, app.config.digest.timezone)

    async def run_sweep(self) -> None:
        try:
            notices = await sweep(self.app, self.app.clock())
        except Exception:
            logger.exception("reminder sweep failed; the next one will try again")
            return
        if notices:
            logger.info("reminder sweep queued %d message(s)", len(notices))

    async def run_digest(self) -> None:
        now = self.app.clock()
        slot = last_slot(self.trigger, now)
        if slot is None or now - slot > DIGEST_GRACE:
            return
        try:
            notices = await run_digests(self.app, now, slot=slot_key(slot))
        except Exception:
            logger.exception("digest run failed")
            return
        logger.info("digest slot %s: %d message(s)", slot_key(slot), len(notices))

    async def start(self) -> None:
        await self.run_sweep()
        await self.run_digest()  # a slot missed while down, if recent enough; the slot key stops a repeat
        self.scheduler.add_job(self.run_sweep, IntervalTrigger(seconds=self.app.config.reminders.sweep_seconds),
                               id="sweep", coalesce=True, max_instances=1, misfire_grace_time=None)
        self.scheduler.add_job(self.run_digest, self.trigger, id="digest", coalesce=True, max_instances=1,
                               misfire_grace_time=int(DIGEST_GRACE.total_seconds()))
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
