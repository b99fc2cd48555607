"""The services of one workspace, composed over the store: SLA refresh and the policy in force.

Composition code (like ``app`` and ``cli``): it joins the pure SLA engine to the store.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from inbox.models import Priority
from inbox.sla import engine as sla
from inbox.sla.holidays import country_holidays
from inbox.sla.policy import POLICY_SETTING, PolicySet, default_policies, load_policies
from inbox.store.database import to_db_time
from inbox.store.repository import SlaCacheRow, Store
from inbox.triage import crisis
from inbox.triage import rules as triage_module

if TYPE_CHECKING:
    import httpx

    from inbox.app.remote_images import ImageLimits



def policies(store: Store) -> PolicySet:
    """The SLA policies in force: the stored text (Settings, ``inbox policy load``, a team
    server's), else the defaults. Read at each use, parsed once per text: whoever changes the
    setting, the queue's refresh and the conversation view use the new rules at once."""
    return _parsed_policies(store.setting(POLICY_SETTING))


@functools.lru_cache(maxsize=4)
def _parsed_policies(text: str) -> PolicySet:
    if text:
        return load_policies(text, "stored policies", country_holidays)
    return default_policies(country_holidays)


def subject(conversation_id: int, channel: str, vip: bool) -> sla.SlaSubject:
    # Attributes at creation; PRIORITY/TAG/CHANNEL events in the log change them over time.
    return sla.SlaSubject(conversation_id, channel, Priority.NORMAL.value, frozenset(), vip)


def statuses_at(store: Store, at: datetime, ids: Sequence[int] | None = None) -> list[sla.TargetStatus]:
    """Every SLA target of every conversation not closed, as of ``at`` (later events ignored)."""
    rules = policies(store)
    rows: list[sla.TargetStatus] = []
    for cid, (channel, vip, events, _last) in store.sla_inputs(ids).items():
        past = [e for e in events if e.at <= at]
        if not past:
            continue
        rows.extend(sla.evaluate(subject(cid, channel, vip), past, rules, at))
    rows.sort(key=sla.urgency_key)
    return rows


def refresh_sla(
    store: Store,
    now: datetime,
    ids: Sequence[int] | None = None,
    rules: PolicySet | None = None,
    force: bool = False,
) -> int:
    """Bring the cached SLA state of conversations (default: every one not closed) up to ``now``:
    recompute the targets, the queue's most urgent running deadline and the SLA event log of each
    conversation whose cache can be wrong (``Store.sla_stale``), ``REFRESH_CHUNK`` conversations
    per transaction (memory stays flat however many an import touched: each conversation's cache
    and log are written together, and the mark that every open conversation is up to date only
    with the last chunk). A cached state stays exact until its next warning or breach instant or
    the next event, so the others are left as they are; ``force`` recomputes them all (new
    policies). Returns how many conversations were recomputed."""
    stale, newest = store.sla_stale(now, ids)
    mark = newest if ids is None else None  # every open conversation is brought up to date
    if force:
        stale = list(ids) if ids is not None else store.open_conversation_ids()
    if not stale:
        if mark is not None:
            store.replace_sla_logs({}, [], mark)
        return 0
    rules = rules or policies(store)
    done = 0
    for start in range(0, len(stale), REFRESH_CHUNK):
        last = start + REFRESH_CHUNK >= len(stale)
        done += _refresh_chunk(store, now, stale[start : start + REFRESH_CHUNK], rules, mark if last else None)
    return done


#: Conversations whose events are read, assessed and written at a time by :func:`refresh_sla`.
REFRESH_CHUNK = 2000


def _refresh_chunk(store: Store, now: datetime, stale: Sequence[int], rules: PolicySet, mark: int | None) -> int:
    at = to_db_time(now)
    cache: list[SlaCacheRow] = []
    logs: dict[int, list[tuple[str, str, str, int, str, float | None]]] = {}
    for cid, (channel, vip, events, last_event_id) in store.sla_inputs(stale).items():
        subj = subject(cid, channel, vip)
        statuses, log = sla.assess(subj, events, rules, now)
        live = sorted((s for s in statuses if s.state is not sla.TargetState.MET), key=sla.urgency_key)
        due = to_db_time(live[0].due_at) if live and live[0].due_at else None
        state = live[0].state.value if live else "met" if statuses else None
        # The cache holds until the next warning/breach, or until an event dated later than now
        # (a clock ahead of ours) starts to count.
        later = [e.at for e in events if e.at > now]
        upcoming = [when for when in (sla.next_transition(statuses), min(later, default=None)) if when]
        next_at = to_db_time(min(upcoming)) if upcoming else None
        cache.append(SlaCacheRow(cid, due, state, at, next_at, last_event_id))
        logs[cid] = [(to_db_time(e.at), e.kind, e.target.value, e.round, e.policy, e.business_s) for e in log]
    store.replace_sla_logs(logs, cache, mark)
    return len(cache)


class Workspace:
    """What the window needs beyond the repository: SLA refresh and reply sending."""

    def __init__(self, store: Store, agent: str = "agent", clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.agent = agent
        self.clock = clock or (lambda: datetime.now(UTC))
        # Messages whose remote images the agent allowed, until the app quits (never stored).
        self.remote_allowed: set[int] = set()
        self.image_limits: ImageLimits | None = None  # None: the defaults of inbox.app.remote_images
        self.http: httpx.AsyncClient | None = None  # the app's one client (set by the shell)

    def refresh_sla(self, now: datetime, ids: Sequence[int] | None = None, *, store: Store | None = None) -> int:
        """Bring the cached SLA of ``ids`` (default: every open conversation) up to ``now`` with
        the policies in force, written through ``store`` (the writer's) or the workspace's."""
        store = store or self.store
        return refresh_sla(store, now, ids, policies(store))

    @staticmethod
    def weighted_length(text: str) -> int:
        """A post's length as X counts it (URLs 23, CJK and emoji 2), for the composer."""
        from inbox.providers.twitter.length import weighted_length

        return weighted_length(text)

    def original(self, message_id: int) -> tuple[str, list[tuple[str, str, bool]]]:
        """A mail's sanitised HTML (remote content blocked) and where each of its links goes."""
        from inbox.providers.email.sanitize import sanitize_html
        from inbox.providers.email.sanitize_links import link_targets, misleading

        message = self.store.message(message_id)
        source = message.html or ""
        safe = sanitize_html(source, allow_remote=False)
        return safe, [(text, href, misleading(text, href)) for text, href in link_targets(source)]

    def _remote_html(self, message_id: int) -> str:
        from inbox.providers.email.sanitize import sanitize_html

        return sanitize_html(self.store.message(message_id).html or "", allow_remote=True)

    def remote_image_count(self, message_id: int) -> int:
        """How many distinct remote images the message's original formatting blocks."""
        from inbox.app.remote_images import remote_image_sources

        return len(remote_image_sources(self._remote_html(message_id)))

    def remote_images_allowed(self, message_id: int) -> bool:
        """Whether the agent already allowed this message's remote images (since the app started)."""
        return message_id in self.remote_allowed

    async def load_remote_images(self, message_id: int) -> tuple[str, dict[str, bytes], int]:
        """Allow this message's remote images until the app quits and fetch them (through the
        app's cookie-less client, or one made and closed for this load by ``inbox.app.http``
        when there is none): the HTML with its images back, the images by address as written
        in it, and how many could not be loaded."""
        from inbox.app.http import client_for
        from inbox.app.remote_images import fetch_images, remote_image_sources

        self.remote_allowed.add(message_id)
        html = self._remote_html(message_id)
        sources = remote_image_sources(html)
        if self.http is not None:
            fetched = await fetch_images(self.http, sources, self.image_limits)
        else:
            async with client_for() as http:
                fetched = await fetch_images(http, sources, self.image_limits)
        return html, dict(fetched.images), fetched.failed

    def sla_details(self, conversation_id: int) -> tuple[list[sla.TargetStatus], list[sla.SlaLogEntry]]:
        """Every target of one conversation now, and its SLA history, for the conversation view."""
        now = self.clock()
        inputs = self.store.sla_inputs([conversation_id])
        if conversation_id not in inputs:
            return [], []
        channel, vip, events, _last = inputs[conversation_id]
        if not events:
            return [], []
        return sla.assess(subject(conversation_id, channel, vip), events, policies(self.store), now)

    def tick_sla(self) -> None:
        """Recompute the conversations whose SLA state changed since the last refresh (a warning
        or breach instant passed, or a new event): usually none or a few."""
        self.refresh_sla(self.clock())

    def new_notices(self) -> list[tuple[str, str, int]]:
        """SLA warnings and breaches not yet shown, as (title, text, conversation id), once each."""
        from datetime import timedelta

        from inbox.store.notices import unseen_sla_transitions

        now = self.clock()
        notices: list[tuple[str, str, int]] = []
        for _key, cid, target, kind, _at in unseen_sla_transitions(self.store, now - timedelta(hours=1), now):
            conv = self.store.conversation(cid)
            what = "SLA breached" if kind == "breached" else "SLA warning"
            notices.append((f"{what}: {target.replace('_', ' ')}", f"#{cid} {conv.customer_name} — {conv.subject[:80]}", cid))
        return notices


def triage_pass(store: Store, now: datetime, *, batch: int = 200, batches: int = 5) -> int | None:
    """The background triage: score the sentiment of new customer messages (a few batches, so
    it never holds the store for long), apply the priority rules, and look for a crisis.
    Returns the id of a new crisis alert, if one was raised."""
    from inbox.store.analytics import score_pending
    from inbox.triage.sentiment_textblob import analyse

    for _ in range(batches):
        if score_pending(store, analyse, batch) < batch:
            break
    run_triage(store, now)
    return check_crisis(store, now)


TRIAGE_SETTING = "triage_rules"


def rules_text(store: Store) -> str:
    """The priority rules in force (as the team lead loaded them, else the defaults)."""
    from inbox.triage import rules as triage

    return store.setting(TRIAGE_SETTING) or triage.DEFAULT_RULES


def run_triage(store: Store, at: datetime) -> list[triage_module.TriageResult]:
    """Score every open conversation and apply the priorities no agent set."""
    from inbox.store import analytics
    from inbox.triage import rules as triage

    rules = triage.load_rules(rules_text(store), "stored triage rules")
    results = [triage.evaluate(item, rules) for item in analytics.triage_inputs(store, at)]
    analytics.apply_triage(store, results, at)
    return results


def check_crisis(store: Store, now: datetime, rules: crisis.CrisisRules | None = None) -> int | None:
    """Record a crisis alert if the window ending ``now`` is a burst, and return its id.

    One burst raises one alert. While an alert of this window is open, nothing more is raised;
    once the team lead acknowledged it, the acknowledgement holds for the messages it covered:
    only new negative messages beyond them, as many as a burst needs (``min_negative``), raise
    a new alert."""
    from datetime import timedelta

    from inbox.store import analytics

    rules = rules or crisis.CrisisRules()
    since = now - timedelta(days=rules.baseline_days) - rules.window
    found = crisis.detect(analytics.crisis_signals(store, since), now, rules)
    if found is None:
        return None
    # Alerts whose messages can still be in this window (each covers the window before it).
    recent = [
        a
        for a in analytics.alerts(store, include_acknowledged=True)
        if a.kind == "crisis" and now - a.at < rules.window
    ]
    if any(not a.acknowledged for a in recent):
        return None
    if recent and len(crisis.beyond(found, recent)) < rules.min_negative:
        return None
    return analytics.record_alert(store, "crisis", now, found.detail())


MAX_AVATAR_BYTES = 1_000_000


async def fetch_avatars(store: Store, http: object, limit: int = 20) -> int:
    """Download the profile pictures not cached yet (images only, 1 MB at most); returns how
    many were saved. A picture that cannot be fetched is simply tried again later."""
    import os

    import httpx

    from inbox.store import avatars

    assert isinstance(http, httpx.AsyncClient)
    saved = 0
    for url in avatars.missing(store, limit):
        path = avatars.cache_path(store, url)
        if path is None:
            return 0
        try:
            response = await http.get(url, follow_redirects=True)
        except httpx.HTTPError:
            continue
        kind = response.headers.get("content-type", "")
        if response.status_code != 200 or not kind.startswith("image/") or len(response.content) > MAX_AVATAR_BYTES:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".part")
        temporary.write_bytes(response.content)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
        saved += 1
    return saved
