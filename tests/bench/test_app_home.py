"""A small run of the App Home bench: every reviewer's view is published, within Slack's limits (no timing)."""

from __future__ import annotations

from bench.app_home import run


async def test_the_app_home_bench_publishes_every_reviewers_view_within_slacks_limits():
    figures = await run(assessments=120, reviewers=10, samples=20, rounds=2)
    assert len(figures["bare"]) == len(figures["ours"]) == len(figures["building"]) == 20
    assert figures["views"] == 10 + 20 + 20  # each reviewer opening Home, then the bare calls and ours
    assert 0 < figures["largest_view_blocks"] <= 100
