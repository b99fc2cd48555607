"""A call-centre workspace on disk, from a fixed seed, in each channel's real import format.

At scale 1: 100,000 conversations and 1,000,000 messages. Email goes to maildirs (split in parts
of about 5,000 messages, each thread inside one part), X to API v2 pages with ``includes``
(mentions and DM events), Facebook to Graph API pages of Page conversations with their messages,
web forms to our JSON (docs/WEBFORMS.md). One customer owns about 1,000 messages (email), so the
customer history can be measured. Every conversation has its own thread key, so importing gives
exactly the planned number of conversations.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formataddr
from pathlib import Path

from bench.corpus_text import DOMAINS, FIRST, LAST, SUBJECTS, agent_text, customer_text

ANCHOR = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # "now" in the generated workspace
SEED = 20270329
SUPPORT_EMAIL = "support@acme.example"
BRAND_X_ID = "1000000000000000001"
BRAND_X_USER: dict[str, object] = {"id": BRAND_X_ID, "username": "AcmeHelp", "name": "Acme Support"}
PAGE_ID = "104000000000001"
PAGE_NAME = "Acme"
HEAVY_EMAIL = "heavy.customer@example.com"
MAIL_PART = 5_000
X_PAGE = 100
FB_PAGE = 25
FORM_PAGE = 100
_TWEPOCH_MS = 1288834974657
SHARES = {"email": 0.08, "twitter": 0.42, "facebook": 0.42}  # of conversations; the rest web forms
# Email is 8% of conversations (~80k messages at scale 1), not more: the email parser reads
# ~300 messages/s, so a mail-heavy million would not fit the 25-minute budget of a full run.


@dataclass(frozen=True)
class Person:
    index: int
    name: str
    email: str
    x_id: str
    x_user: str
    psid: str


@dataclass
class Thread:
    """One planned conversation: who, on which channel, and when each message is written."""

    number: int
    channel: str
    person: Person
    order: str
    times: list[datetime]
    from_customer: list[bool]
    dm: bool = False


@dataclass
class Generated:
    root: Path
    mail: Path
    messages: dict[str, int] = field(default_factory=dict)
    conversations: dict[str, int] = field(default_factory=dict)
    heavy_email: str = HEAVY_EMAIL
    heavy_messages: int = 0

    @property
    def total_messages(self) -> int:
        return sum(self.messages.values())

    @property
    def total_conversations(self) -> int:
        return sum(self.conversations.values())


def person(index: int) -> Person:
    first = FIRST[index % len(FIRST)]
    last = LAST[(index // len(FIRST)) % len(LAST)]
    local = f"{first}.{last}{index}".lower().encode("ascii", "ignore").decode()
    email = HEAVY_EMAIL if index == 0 else f"{local}@{DOMAINS[index % len(DOMAINS)]}"
    return Person(index, f"{first} {last}", email, str(2_000_000_000 + index), local, str(6_000_000_000_000 + index))


def sizes(rng: random.Random, count: int, total: int) -> list[int]:
    """``count`` thread lengths of at least 1 adding up to exactly ``total`` (long-tailed)."""
    extra = total - count
    weights = [rng.expovariate(1.0) for _ in range(count)]
    scale = extra / (sum(weights) or 1.0)
    out = [1 + int(w * scale) for w in weights]
    missing = total - sum(out)
    for i in range(missing):
        out[i % count] += 1
    return out


def _times(rng: random.Random, start: datetime, count: int) -> tuple[list[datetime], list[bool]]:
    gaps: list[float] = []
    who = [True]
    for _ in range(count - 1):
        customer = (not who[-1]) or rng.random() < 0.25
        who.append(customer)
        gaps.append(rng.uniform(1800, 172800) if customer else rng.uniform(300, 72000))
    room = (ANCHOR - timedelta(minutes=1) - start).total_seconds()
    squeeze = min(1.0, room / sum(gaps)) if gaps else 1.0
    times, t = [start], start
    for gap in gaps:
        t += timedelta(seconds=max(1.0, gap * squeeze))
        times.append(t)
    return times, who


def plan(scale: float, seed: int = SEED) -> list[Thread]:
    """Every conversation of the workspace, sorted by start: a pure function of scale and seed."""
    rng = random.Random(seed)
    n_conv = max(20, round(100_000 / scale))
    n_msg = max(n_conv * 2, round(1_000_000 / scale))
    counts = {ch: round(n_conv * share) for ch, share in SHARES.items()}
    counts["webform"] = n_conv - sum(counts.values())
    threaded = n_conv - counts["webform"]
    lengths = iter(sizes(rng, threaded, n_msg - counts["webform"]))
    heavy_target = max(10, round(1_000 / scale))
    n_people = n_conv
    dm_people = iter(rng.sample(range(1, n_people), counts["twitter"] + counts["facebook"]))
    threads: list[Thread] = []
    heavy = 0
    for channel in ("email", "twitter", "facebook", "webform"):
        for _ in range(counts[channel]):
            length = 1 if channel == "webform" else next(lengths)
            dm = channel == "facebook" or (channel == "twitter" and rng.random() < 0.3)
            if channel == "email" and heavy < heavy_target:
                who, heavy = 0, heavy + length
            elif dm or channel == "twitter":
                who = next(dm_people)  # one DM thread (or mention thread) per person
            else:
                who = rng.randrange(1, n_people)
            start = ANCHOR - timedelta(seconds=rng.uniform(3600, 365 * 86400))
            times, from_customer = _times(rng, start, length)
            order = f"{rng.randrange(100000, 999999)}-{len(threads)}"
            threads.append(Thread(len(threads), channel, person(who), order, times, from_customer, dm))
    threads.sort(key=lambda th: (th.times[0], th.number))
    return threads


def generate(root: Path, scale: float = 1.0, seed: int = SEED) -> Generated:
    """Write the workspace under ``root`` (emptied folders are reused) and say what it holds."""
    threads = plan(scale, seed)
    rng = random.Random(seed + 1)
    out = Generated(root=root, mail=root / "mail")
    for channel in ("email", "twitter", "facebook", "webform"):
        mine = [th for th in threads if th.channel == channel]
        out.conversations[channel] = len(mine)
        out.messages[channel] = sum(len(th.times) for th in mine)
    out.heavy_messages = sum(len(th.times) for th in threads if th.person.index == 0)
    _write_mail(out.mail, [th for th in threads if th.channel == "email"], rng)
    _write_x(root / "x", [th for th in threads if th.channel == "twitter"], rng)
    _write_facebook(root / "facebook", [th for th in threads if th.channel == "facebook"], rng)
    _write_forms(root / "forms", [th for th in threads if th.channel == "webform"], rng)
    (root / "manifest.json").write_text(
        json.dumps(
            {
                "scale": scale,
                "seed": seed,
                "messages": out.messages,
                "conversations": out.conversations,
                "heavy_messages": out.heavy_messages,
            }
        ),
        "utf-8",
    )
    return out


def existing(root: Path, scale: float, seed: int = SEED) -> Generated | None:
    """The workspace already under ``root`` when a complete one of this scale and seed is there
    (the manifest is written last), so that a second run does not write it again."""
    try:
        manifest = json.loads((root / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("scale") != scale or manifest.get("seed") != seed:
        return None
    return Generated(
        root=root,
        mail=root / "mail",
        messages=dict(manifest["messages"]),
        conversations=dict(manifest["conversations"]),
        heavy_messages=int(manifest["heavy_messages"]),
    )


def _texts(th: Thread, rng: random.Random) -> list[str]:
    return [customer_text(rng, th.order) if c else agent_text(rng, th.order, th.person.name) for c in th.from_customer]


# -- email: maildir ------------------------------------------------------------------------------


def _write_mail(root: Path, threads: list[Thread], rng: random.Random) -> None:
    part, in_part = 0, 0
    folder = _maildir(root, part)
    for th in threads:
        if in_part >= MAIL_PART:
            part, in_part = part + 1, 0
            folder = _maildir(root, part)
        subject = rng.choice(SUBJECTS).format(order=th.order, product="Aurora kettle")
        ids: list[str] = []
        for i, (when, text, customer) in enumerate(zip(th.times, _texts(th, rng), th.from_customer, strict=True)):
            msg_id = f"<{th.number}.{i}.{th.order}@{'mail.' + th.person.email.split('@')[1] if customer else 'acme.example'}>"
            sender = formataddr((th.person.name, th.person.email), "utf-8")
            support = formataddr(("Acme Support", SUPPORT_EMAIL))
            lines = [
                f"From: {sender if customer else support}",
                f"To: {support if customer else sender}",
                f"Subject: {'Re: ' if i else ''}{subject}",
                f"Date: {format_datetime(when)}",
                f"Message-ID: {msg_id}",
            ]
            if ids:
                lines.append(f"In-Reply-To: {ids[-1]}")
                lines.append("References: " + " ".join(ids[-20:]))
            lines.append("MIME-Version: 1.0")
            body = text if i == 0 else text + f"\nOn {format_datetime(th.times[i - 1])}, you wrote:\n> ...\n"
            if rng.random() < 0.2:
                html = "<html><body><p>" + body.replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p></body></html>"
                lines += [
                    'Content-Type: multipart/alternative; boundary="b1"',
                    "",
                    "--b1",
                    "Content-Type: text/plain; charset=utf-8",
                    "Content-Transfer-Encoding: 8bit",
                    "",
                    body,
                    "--b1",
                    "Content-Type: text/html; charset=utf-8",
                    "Content-Transfer-Encoding: 8bit",
                    "",
                    html,
                    "--b1--",
                ]
            else:
                lines += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", body]
            ids.append(msg_id)
            name = f"{int(when.timestamp())}.M{th.number}P{i}.bench:2,S"
            (folder / "cur" / name).write_bytes("\n".join(lines).encode("utf-8"))
            in_part += 1


def _maildir(root: Path, part: int) -> Path:
    folder = root / f"part-{part:04d}"
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return folder


# -- X: API v2 pages -----------------------------------------------------------------------------


def _snowflake(when: datetime, seq: int) -> str:
    return str(((int(when.timestamp() * 1000) - _TWEPOCH_MS) << 22) | (seq & 0x3FFFFF))


def _x_iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _write_x(root: Path, threads: list[Thread], rng: random.Random) -> None:
    root.mkdir(parents=True, exist_ok=True)
    tweets: list[tuple[datetime, dict[str, object], dict[str, object]]] = []
    events: list[tuple[datetime, dict[str, object], dict[str, object]]] = []
    seq = 0
    for th in threads:
        user: dict[str, object] = {
            "id": th.person.x_id,
            "username": th.person.x_user,
            "name": th.person.name,
            "public_metrics": {"followers_count": th.person.index % 5000},
        }
        root_id, previous = "", ""
        low, high = sorted((th.person.x_id, BRAND_X_ID), key=int)
        for when, text, customer in zip(th.times, _texts(th, rng), th.from_customer, strict=True):
            seq += 1
            item_id = _snowflake(when, seq)
            body = text.replace("\n\n", " ").replace("\n", " ").strip()
            if th.dm:
                event: dict[str, object] = {
                    "id": item_id,
                    "event_type": "MessageCreate",
                    "text": body,
                    "sender_id": th.person.x_id if customer else BRAND_X_ID,
                    "dm_conversation_id": f"{low}-{high}",
                    "created_at": _x_iso(when),
                }
                events.append((when, event, user))
                continue
            root_id = root_id or item_id
            tweet: dict[str, object] = {
                "id": item_id,
                "created_at": _x_iso(when),
                "conversation_id": root_id,
                "lang": "en",
                "author_id": th.person.x_id if customer else BRAND_X_ID,
                "text": (f"@AcmeHelp {body}" if customer else f"@{th.person.x_user} {body}")[:280],
                "edit_history_tweet_ids": [item_id],
            }
            if previous:
                tweet["referenced_tweets"] = [{"type": "replied_to", "id": previous}]
                tweet["in_reply_to_user_id"] = BRAND_X_ID if customer else th.person.x_id
            previous = item_id
            tweets.append((when, tweet, user))
    _x_pages(root, "mentions", tweets)
    _x_pages(root, "dm-events", events)


def _x_pages(root: Path, stem: str, items: list[tuple[datetime, dict[str, object], dict[str, object]]]) -> None:
    items.sort(key=lambda item: item[0])
    for page, start in enumerate(range(0, len(items), X_PAGE)):
        chunk = items[start : start + X_PAGE]
        users = {u["id"]: u for _w, _i, u in chunk}
        users[BRAND_X_ID] = BRAND_X_USER
        data = [i for _w, i, _u in reversed(chunk)]  # the API lists newest first
        doc = {
            "data": data,
            "includes": {"users": list(users.values())},
            "meta": {
                "result_count": len(data),
                "newest_id": data[0]["id"],
                "oldest_id": data[-1]["id"],
                "next_token": f"b26v89c19zqg8o3f{page:08d}",
            },
        }
        (root / f"{stem}-{page:06d}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")


# -- Facebook: Graph API pages of Page conversations ---------------------------------------------


def _fb_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _write_facebook(root: Path, threads: list[Thread], rng: random.Random) -> None:
    root.mkdir(parents=True, exist_ok=True)
    page_ref = {"id": PAGE_ID, "name": PAGE_NAME}
    for page, start in enumerate(range(0, len(threads), FB_PAGE)):
        data = []
        for th in threads[start : start + FB_PAGE]:
            who = {"id": th.person.psid, "name": th.person.name}
            messages = []
            for i, (when, text, customer) in enumerate(zip(th.times, _texts(th, rng), th.from_customer, strict=True)):
                messages.append(
                    {
                        "id": f"m_{th.number}x{i}AbCdEfGh{th.order}",
                        "created_time": _fb_time(when),
                        "from": who if customer else page_ref,
                        "to": {"data": [page_ref if customer else who]},
                        "message": text.strip(),
                    }
                )
            messages.reverse()  # Graph lists a conversation's messages newest first
            data.append(
                {
                    "id": f"t_{10_000_000 + th.number}",
                    "link": f"/{PAGE_ID}/inbox/{10_000_000 + th.number}/",
                    "updated_time": _fb_time(th.times[-1]),
                    "message_count": len(messages),
                    "participants": {"data": [who, {**page_ref, "email": f"{PAGE_ID}@facebook.com"}]},
                    "messages": {"data": messages, "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}},
                }
            )
        doc = {
            "data": data,
            "paging": {
                "cursors": {"before": f"b{page}", "after": f"a{page}"},
                "next": f"https://graph.facebook.com/v19.0/{PAGE_ID}/conversations?after=a{page}",
            },
        }
        (root / f"conversations-{page:06d}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")


# -- web forms: our JSON -------------------------------------------------------------------------


def _write_forms(root: Path, threads: list[Thread], rng: random.Random) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for form in ("contact-en", "contact-fr"):
        mine = [th for th in threads if (th.number % 2 == 0) == (form == "contact-en")]
        for page, start in enumerate(range(0, len(mine), FORM_PAGE)):
            subs = []
            for th in mine[start : start + FORM_PAGE]:
                fields = {
                    "name": th.person.name,
                    "email": th.person.email,
                    "subject": rng.choice(SUBJECTS).format(order=th.order, product="Halo desk lamp"),
                    "message": customer_text(rng, th.order).strip(),
                    "order": th.order,
                }
                if th.number % 3 == 0:
                    fields["phone"] = f"+33 6 {th.number % 100:02d} {rng.randrange(10, 99)} {rng.randrange(10, 99)} 00"
                subs.append(
                    {
                        "id": f"s-{th.number}",
                        "submitted_at": th.times[0].strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "fields": fields,
                    }
                )
            doc = {"inbox_webform": 1, "form": {"id": form, "title": "Contact"}, "submissions": subs}
            (root / f"{form}-{page:05d}.json").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")


# -- a maildir alone, for the email import bench ---------------------------------------------------


def plan_mail(messages: int, seed: int = SEED) -> list[Thread]:
    """Email threads holding ``messages`` messages (about 10 per thread, long-tailed) between
    customers and the support address, sorted by start: a pure function of size and seed."""
    rng = random.Random(seed)
    n_conv = max(2, messages // 10)
    threads: list[Thread] = []
    for number, length in enumerate(sizes(rng, n_conv, messages)):
        who = rng.randrange(1, n_conv + 1)
        start = ANCHOR - timedelta(seconds=rng.uniform(3600, 365 * 86400))
        times, from_customer = _times(rng, start, length)
        order = f"{rng.randrange(100000, 999999)}-{number}"
        threads.append(Thread(number, "email", person(who), order, times, from_customer))
    threads.sort(key=lambda th: (th.times[0], th.number))
    return threads


def generate_maildir(root: Path, messages: int, seed: int = SEED) -> Path:
    """A maildir (parts of 5,000 messages) of ``messages`` messages under ``root/mail``, reused
    when a complete one of this size and seed is there."""
    manifest = root / "manifest.json"
    want = {"maildir_messages": messages, "seed": seed}
    try:
        if json.loads(manifest.read_text("utf-8")) == want:
            return root / "mail"
    except (OSError, ValueError):
        pass
    import shutil

    shutil.rmtree(root, ignore_errors=True)
    _write_mail(root / "mail", plan_mail(messages, seed), random.Random(seed + 1))
    manifest.write_text(json.dumps(want), "utf-8")
    return root / "mail"
