"""Assigning new conversations among the team's agents: round-robin or least-loaded.

Pure functions of the agents, their current loads and the conversations waiting. An agent takes
only the channels listed for them (none listed: every channel), never more than ``max_load``
open conversations, and only while active. A conversation no agent may take stays unassigned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Strategy(StrEnum):
    ROUND_ROBIN = "round-robin"
    LEAST_LOADED = "least-loaded"


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent of the workspace, as configured by the team lead."""

    name: str
    display_name: str = ""
    channels: frozenset[str] = frozenset()  # empty: every channel
    active: bool = True
    max_load: int | None = None

    def takes(self, channel: str) -> bool:
        return self.active and (not self.channels or channel in self.channels)


@dataclass(frozen=True, slots=True)
class Waiting:
    """A conversation waiting for an agent."""

    conversation_id: int
    channel: str


@dataclass(frozen=True, slots=True)
class Plan:
    """Who takes what; ``unassigned`` could go to nobody (channel or load limits)."""

    assignments: tuple[tuple[int, str], ...]
    unassigned: tuple[int, ...]
    last: str | None  # the round-robin position to keep for next time


def plan(
    waiting: Sequence[Waiting],
    agents: Sequence[Agent],
    loads: Mapping[str, int],
    strategy: Strategy,
    last: str | None = None,
) -> Plan:
    """Assign ``waiting`` (in order) to ``agents``. ``last`` is the agent who took the previous
    conversation in round-robin order; loads grow as the plan assigns."""
    team = sorted((a for a in agents if a.active), key=lambda a: a.name)
    load = {a.name: int(loads.get(a.name, 0)) for a in team}
    done: list[tuple[int, str]] = []
    left: list[int] = []
    for item in waiting:
        able = [
            a
            for a in team
            if a.takes(item.channel) and (a.max_load is None or load[a.name] < a.max_load)
        ]
        if not able:
            left.append(item.conversation_id)
            continue
        if strategy is Strategy.LEAST_LOADED:
            chosen = min(able, key=lambda a: (load[a.name], a.name))
        else:
            chosen = _next_after(able, last)
        load[chosen.name] += 1
        last = chosen.name
        done.append((item.conversation_id, chosen.name))
    return Plan(tuple(done), tuple(left), last)


def _next_after(able: Sequence[Agent], last: str | None) -> Agent:
    """The first able agent after ``last`` in name order, wrapping around."""
    if last is not None:
        for agent in able:
            if agent.name > last:
                return agent
    return able[0]
