"""`inbox report`, `agents`, `assign-new`, `triage`, `sentiment`, `alerts`, `dashboard-screenshot`.

Composition code: joins the pure reports, triage, crisis and assignment rules to the store.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inbox.cli.commands import _add, open_store
from inbox.cli.operations import parse_instant
from inbox.cli.output import emit_json, iso, table
from inbox.errors import InputError
from inbox.models import Channel, Priority
from inbox.triage import assignment

if TYPE_CHECKING:
    from inbox.sla import reports
    from inbox.store.repository import Store

# Reports (with the SLA engine), the store's analytics, triage and the workspace (which loads the
# holidays package) are imported by the commands that use them: every `inbox` process registers
# these commands, and `inbox queue` must not pay for them (tests/cli/test_startup.py).
#: ``reports.GROUPINGS``, spelled here so that registering ``--by`` imports no report code.
GROUPINGS = ("channel", "policy", "agent", "day")

ROUND_ROBIN_SETTING = "assign_round_robin_last"
ACTOR = "cli"


def register(sub: Any) -> None:
    p = _add(
        sub,
        "report",
        cmd_report,
        "SLA and volume report (from the SLA log and events)",
        json_flag=True,
    )
    p.add_argument(
        "--from", dest="since", help="start date or instant (default: 7 days before --to)"
    )
    p.add_argument("--to", dest="until", help="end date (inclusive) or instant (default: now)")
    p.add_argument("--by", choices=GROUPINGS, default="channel")
    p.add_argument("--csv", action="store_true", help="print CSV")
    p.add_argument(
        "--monthly",
        action="store_true",
        help="conversations received and handled per channel per month",
    )
    p = _add(sub, "agents", cmd_agents_list, "agents of the workspace: add or list")
    ag = p.add_subparsers(dest="agents_command")
    a = _add(ag, "add", cmd_agents_add, "add or update an agent")
    a.add_argument("name")
    a.add_argument("--display-name", default="")
    a.add_argument(
        "--channels", default="", help="comma-separated channels (default: every channel)"
    )
    a.add_argument("--max-load", type=int, default=None)
    a.add_argument("--inactive", action="store_true")
    _add(ag, "list", cmd_agents_list, "list agents and their load", json_flag=True)
    p = _add(
        sub,
        "assign-new",
        cmd_assign_new,
        "assign unassigned new and open conversations to agents",
        json_flag=True,
    )
    p.add_argument(
        "--strategy", choices=[s.value for s in assignment.Strategy], default="least-loaded"
    )
    p.add_argument("--at")
    p = _add(
        sub,
        "triage",
        cmd_triage_show,
        "priority rules: show, load a file, run, or set a priority by hand",
    )
    tr = p.add_subparsers(dest="triage_command")
    _add(tr, "show", cmd_triage_show, "print the rules in force")
    s = _add(tr, "load", cmd_triage_load, "load a rules file (TOML or JSON; validated first)")
    s.add_argument("file", type=Path)
    s = _add(
        tr,
        "run",
        cmd_triage_run,
        "score open conversations and set priorities agents did not set",
        json_flag=True,
    )
    s.add_argument("--at")
    s = _add(
        tr, "set-priority", cmd_triage_set_priority, "set a priority as an agent (triage keeps it)"
    )
    s.add_argument("conversation_id", type=int)
    s.add_argument("priority", choices=[v.value for v in Priority])
    s.add_argument("--at")
    p = _add(
        sub, "sentiment", cmd_sentiment, "score customer messages not scored yet", json_flag=True
    )
    p.add_argument("--run", action="store_true", help="score a batch now")
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--all", action="store_true", help="keep scoring batches until none is left")
    p = _add(
        sub, "alerts", cmd_alerts, "crisis alerts: list, --check now, --ack ID", json_flag=True
    )
    p.add_argument(
        "--check", action="store_true", help="look for a burst of negative public messages now"
    )
    p.add_argument("--ack", type=int, help="acknowledge an alert")
    p.add_argument("--at")
    p = _add(
        sub,
        "dashboard-screenshot",
        cmd_dashboard_screenshot,
        "render the team lead's dashboard to a PNG",
    )
    p.add_argument("out", type=Path)
    p.add_argument("--demo", action="store_true", default=argparse.SUPPRESS)
    p.add_argument("--lang", choices=["en", "fr"], default="en")
    p.add_argument("--size", default="1440x900")


def parse_day_or_instant(text: str | None, field: str, end: bool = False) -> datetime | None:
    """``2026-11-01`` (a UTC day: its start, or with ``end`` the next day's start) or an instant."""
    if not text:
        return None
    if len(text) == 10:
        try:
            day = datetime.fromisoformat(text).date()
        except ValueError:
            raise InputError(
                field, f"'{text}' is not a date (YYYY-MM-DD) or an ISO 8601 instant"
            ) from None
        start = datetime.combine(day, time(), UTC)
        return start + timedelta(days=1) if end else start
    return parse_instant(text, field)


def _refresh(store: Store, now: datetime) -> None:
    from inbox.app.workspace import refresh_sla

    refresh_sla(store, now)


def cmd_report(args: argparse.Namespace) -> int:
    from inbox.sla import reports
    from inbox.store import analytics

    store = open_store(args)
    now = datetime.now(UTC)
    _refresh(store, now)
    if args.monthly:
        rows = reports.monthly(analytics.all_conversations(store))
        if args.json:
            emit_json(rows)
        elif args.csv:
            print("month,channel,received,handled")
            for r in rows:
                print(f"{r.month},{r.channel},{r.received},{r.handled}")
        else:
            print(table([[r.month, r.channel, r.received, r.handled] for r in rows],
                        ["month", "channel", "received", "handled"]))  # fmt: skip
        return 0
    until = parse_day_or_instant(args.until, "--to", end=True) or now
    since = parse_day_or_instant(args.since, "--from") or until - timedelta(days=7)
    if since >= until:
        raise InputError("--from", "must be before --to")
    report = analytics.AnalyticsSource(store).report(since, until, args.by)
    if args.json:
        emit_json(report_json(report))
    elif args.csv:
        sys.stdout.write(reports.to_csv(report))
    else:
        print(format_report(report))
    return 0


def report_json(report: reports.Report) -> dict[str, object]:
    """JSON-ready form: the CSV columns, null where there is no value."""
    from inbox.sla import reports

    rows = [
        {
            k: None if v == "" else v
            for k, v in zip(reports.CSV_COLUMNS, reports.row_values(r), strict=True)
        }
        for r in (*report.rows, report.total)
    ]
    return {"by": report.by, "since": iso(report.since), "until": iso(report.until), "rows": rows}


def format_report(report: reports.Report) -> str:
    """The report as an aligned table (times as wall / business, compliance as met/breached %)."""
    from inbox.sla import reports

    rows = [reports.display_row(r) for r in (*report.rows, report.total)]
    period = f"{iso(report.since)} .. {iso(report.until)}  (times: wall / business)"
    return period + "\n" + table(rows, [report.by, *reports.DISPLAY_HEADERS])


def cmd_agents_add(args: argparse.Namespace) -> int:
    from inbox.store import analytics

    channels = frozenset(c.strip().lower() for c in args.channels.split(",") if c.strip())
    unknown = channels - {c.value for c in Channel}
    if unknown:
        raise InputError(
            "--channels",
            f"unknown channel {sorted(unknown)[0]!r} (twitter, facebook, email, webform)",
        )
    if args.max_load is not None and args.max_load < 0:
        raise InputError("--max-load", "must be 0 or more")
    name = args.name.strip()
    if not name:
        raise InputError("name", "an agent needs a name")
    agent = assignment.Agent(name, args.display_name, channels, not args.inactive, args.max_load)
    analytics.save_agent(open_store(args), agent)
    print(
        f"agent {name}: {', '.join(sorted(channels)) or 'every channel'}, max load {args.max_load or '-'}"
    )
    return 0


def cmd_agents_list(args: argparse.Namespace) -> int:
    from inbox.store import analytics

    store = open_store(args)
    loads = analytics.agent_loads(store)
    team = analytics.agents(store)
    if getattr(args, "json", False):
        emit_json([
            {"name": a.name, "display_name": a.display_name, "channels": sorted(a.channels),
             "active": a.active, "max_load": a.max_load, "load": loads.get(a.name, 0)}
            for a in team
        ])  # fmt: skip
    else:
        print(table([[a.name, a.display_name, ",".join(sorted(a.channels)) or "all", "yes" if a.active else "no",
                      a.max_load, loads.get(a.name, 0)] for a in team],
                    ["agent", "name", "channels", "active", "max", "load"]))  # fmt: skip
    return 0


def cmd_assign_new(args: argparse.Namespace) -> int:
    from inbox.store import analytics

    store = open_store(args)
    at = parse_instant(args.at)
    team = analytics.agents(store)
    if not any(a.active for a in team):
        raise InputError("agents", "no active agent: add one with `inbox agents add NAME`")
    strategy = assignment.Strategy(args.strategy)
    plan = assignment.plan(analytics.waiting_unassigned(store), team, analytics.agent_loads(store), strategy,
                           store.setting(ROUND_ROBIN_SETTING) or None)  # fmt: skip
    for cid, agent in plan.assignments:
        store.assign(cid, agent, at, "assign-new")
    if plan.last:
        store.set_setting(ROUND_ROBIN_SETTING, plan.last)
    if args.json:
        emit_json(
            {"assigned": [list(a) for a in plan.assignments], "unassigned": list(plan.unassigned)}
        )
    else:
        print(
            f"{len(plan.assignments)} assigned, {len(plan.unassigned)} left (no agent takes their channel or has room)"
        )
    return 0



def cmd_triage_show(args: argparse.Namespace) -> int:
    from inbox.app.workspace import rules_text

    print(rules_text(open_store(args)).rstrip())
    return 0


def cmd_triage_load(args: argparse.Namespace) -> int:
    from inbox.app.workspace import TRIAGE_SETTING
    from inbox.triage import rules as triage

    try:
        text = args.file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(args.file), f"cannot read: {exc}") from None
    rules = triage.load_rules(text, str(args.file))
    open_store(args).set_setting(TRIAGE_SETTING, text)
    print(triage.describe(rules))
    return 0



def cmd_triage_run(args: argparse.Namespace) -> int:
    from inbox.app.workspace import run_triage

    store = open_store(args)
    results = run_triage(store, parse_instant(args.at))
    ranked = sorted(results, key=lambda r: -r.score)
    if args.json:
        emit_json([{"conversation_id": r.conversation_id, "score": r.score, "priority": r.priority.value,
                    "kept_agent_priority": r.keep_agent_priority, "reasons": list(r.reasons)}
                   for r in ranked])  # fmt: skip
    else:
        print(table([[r.conversation_id, r.score, "(agent)" if r.keep_agent_priority else r.priority.value,
                      ", ".join(r.reasons)] for r in ranked], ["conv", "score", "priority", "why"]))  # fmt: skip
    return 0


def cmd_triage_set_priority(args: argparse.Namespace) -> int:
    from inbox.store import analytics

    analytics.set_agent_priority(open_store(args), args.conversation_id, Priority(args.priority),
                                 parse_instant(args.at), ACTOR)  # fmt: skip
    return 0


def cmd_sentiment(args: argparse.Namespace) -> int:
    from inbox.store import analytics
    from inbox.triage.sentiment_textblob import analyse

    store = open_store(args)
    done = 0
    if args.run:
        while True:
            n = analytics.score_pending(store, analyse, max(1, args.batch))
            done += n
            if not args.all or n == 0:
                break
    negative = analytics.negative_conversation_ids(store)
    if args.json:
        emit_json({"scored_now": done, "negative_conversations": list(negative)})
    else:
        print(
            f"{done} messages scored; {len(negative)} conversations whose latest message is negative"
        )
    return 0



def cmd_alerts(args: argparse.Namespace) -> int:
    from inbox.app.workspace import check_crisis
    from inbox.store import analytics

    store = open_store(args)
    if args.ack is not None and not analytics.acknowledge_alert(store, args.ack):
        raise InputError("--ack", f"no alert with id {args.ack}")
    if args.check:
        new = check_crisis(store, parse_instant(args.at))
        print(f"crisis alert {new} recorded" if new else "no crisis", file=sys.stderr)
    rows = analytics.alerts(store)
    if args.json:
        emit_json(rows)
    else:
        print(table([[a.id, a.kind, iso(a.at), a.detail.get("negative"), a.detail.get("share"),
                      a.detail.get("usual_negative")] for a in rows],
                    ["id", "kind", "at", "negative", "share", "usual"]))  # fmt: skip
    return 0


def cmd_dashboard_screenshot(args: argparse.Namespace) -> int:
    from inbox.store import analytics
    from inbox.triage.sentiment_textblob import analyse
    from inbox.ui.dashboard import render_png
    from inbox.ui.i18n import Translator

    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise InputError("--size", f"'{args.size}' is not WIDTHxHEIGHT") from None
    args.demo = getattr(args, "demo", False)
    store = open_store(args)
    now = datetime.now(UTC)
    _refresh(store, now)
    while analytics.score_pending(store, analyse, 500):
        pass
    render_png(analytics.AnalyticsSource(store), args.out, now, Translator(args.lang), (w, h))
    store.close()
    print(args.out)
    return 0
