"""Round-robin and least-loaded assignment with channel and load limits."""

from __future__ import annotations

from inbox.triage.assignment import Agent, Strategy, Waiting, plan

TEAM = [
    Agent("camille"),
    Agent("sophie", channels=frozenset({"email"})),
    Agent("yanis", max_load=2),
]


def waiting(*channels: str) -> list[Waiting]:
    return [Waiting(i + 1, ch) for i, ch in enumerate(channels)]


def test_round_robin_takes_turns_and_remembers_where_it_stopped() -> None:
    first = plan(waiting("email", "email", "email"), TEAM, {}, Strategy.ROUND_ROBIN)
    assert first.assignments == ((1, "camille"), (2, "sophie"), (3, "yanis"))
    second = plan(waiting("email"), TEAM, {}, Strategy.ROUND_ROBIN, last=first.last)
    assert second.assignments == ((1, "camille"),)


def test_channel_restrictions_are_respected() -> None:
    result = plan(waiting("twitter", "twitter", "twitter"), TEAM, {}, Strategy.ROUND_ROBIN)
    assert all(agent != "sophie" for _, agent in result.assignments)


def test_least_loaded_fills_the_emptiest_first_and_honours_max_load() -> None:
    result = plan(
        waiting(*["twitter"] * 6), TEAM, {"camille": 3, "yanis": 1}, Strategy.LEAST_LOADED
    )
    got = [agent for _, agent in result.assignments]
    assert got == [
        "yanis",
        "camille",
        "camille",
        "camille",
        "camille",
        "camille",
    ]  # yanis full at 2
    assert result.unassigned == ()


def test_nobody_able_leaves_it_unassigned() -> None:
    team = [Agent("sophie", channels=frozenset({"email"})), Agent("away", active=False)]
    result = plan(waiting("facebook", "email"), team, {}, Strategy.LEAST_LOADED)
    assert result.assignments == ((2, "sophie"),) and result.unassigned == (1,)
    assert plan(waiting("email"), [], {}, Strategy.ROUND_ROBIN).unassigned == (1,)
