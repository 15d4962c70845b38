"""A small chaos run: terminal and Slack users answer while each of the bot's processes is killed (SIGKILL) once.

Losing or repeating an acknowledged answer is behaviour, not speed: unlike the benchmark, this asserts.
"""

from __future__ import annotations

from bench.chaos import Settings, run


async def test_processes_killed_at_random_moments_lose_and_repeat_no_acknowledged_answer():
    figures = await run(Settings(seed=20240611, seconds=15, drain_seconds=15, users=2, kills=2, consoles=1,
                                 answers=12, think_s=0.3, gap_s=(0.2, 0.8), down_s=(0.0, 0.5)))
    total = figures["total"]
    assert sorted(figures["killed"]) == ["console-0", "slack"]
    assert total["sent"] > 0 and total["committed"] == total["sent"], figures
    assert total["lost"] == 0 and total["missing_replies"] == 0, figures
    assert total["duplicated"] == 0 and total["extra_replies"] == 0, figures
    assert total["misplaced"] == 0 and total["errors"] == 0 and total["unacknowledged"] == 0, figures
    assert total["interviews"] == total["interviews_expected"] == 4, figures
    assert figures["drained"] and "intact" in figures["audit"], figures
    assert figures["ok"]
