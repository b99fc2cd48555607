"""The demo workspace: a realistic, reproducible inbox for a French/English online bakery brand.

A few hundred conversations across X, Facebook, email and web forms, with customers who appear
on several channels, long email threads, public complaints on X, Messenger chats and form
submissions continued by email. Generated with a fixed seed, relative to ``now``: like a desk
that keeps up, most conversations are within their SLA, some are near it, a few are past it.

Opened later (``ensure_demo``), every stored instant moves forward by the time since it was built
(``inbox.store.timeshift``), so it always reads as of the moment it is opened. Its SLA policies
run round the clock, so "now" counts whatever the weekday or hour it is opened.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from inbox.conversations.routing import x_dm_thread_key
from inbox.models import (
    Account,
    Author,
    Channel,
    Direction,
    IdentityKind,
    Message,
    Priority,
    Status,
    Surface,
)
from inbox.store.database import from_db_time, to_db_time
from inbox.store.repository import Store

SEED = 20261123
#: The instant the demo's timeline is as of (the build, then each opening that moved it).
BUILT_AT = "demo_built_at"
#: The default targets, on a round-the-clock calendar: the demo is opened at any hour of any day,
#: and office hours would freeze every email countdown at night and on weekends.
DEMO_POLICIES = """\
# Demo workspace: the default targets, round the clock (the demo's clock follows the moment it is
# opened, whatever the weekday or hour). Load your own with `inbox policy load FILE`.

[[policy]]
name = "urgent"
when = { priority = ["urgent"] }
calendar = "24x7"
first_reply = "1h"
next_reply = "2h"
resolution = "8h"
warn_at = 0.75

[[policy]]
name = "social"
when = { channel = ["twitter", "facebook"] }
calendar = "24x7"
first_reply = "30m"
next_reply = "1h"
resolution = "24h"
warn_at = 0.75

[[policy]]
name = "vip"
when = { vip = true }
calendar = "24x7"
first_reply = "1h"
next_reply = "2h"
resolution = "8h"
warn_at = 0.75

[[policy]]
name = "email"
when = { channel = ["email", "webform"] }
calendar = "24x7"
first_reply = "4h"
next_reply = "8h"
resolution = "16h"
warn_at = 0.75
"""
BRAND = "Brioche & Co"
EMAIL_ACCOUNT = Account("email:support@brioche.example", Channel.EMAIL, "support@brioche.example",
                        frozenset({"support@brioche.example"}))
X_ACCOUNT = Account("twitter:1500000000000000001", Channel.TWITTER, "@BriocheCo", frozenset({"1500000000000000001"}))
FB_ACCOUNT = Account("facebook:5550001", Channel.FACEBOOK, "Brioche & Co (Page)", frozenset({"5550001"}))
FORM_ACCOUNT = Account("webform:contact", Channel.WEBFORM, "Formulaire de contact")
US_EMAIL = Author(IdentityKind.EMAIL, "support@brioche.example", "support@brioche.example", BRAND)
US_X = Author(IdentityKind.TWITTER, "1500000000000000001", "@BriocheCo", BRAND)
US_FB = Author(IdentityKind.FACEBOOK, "5550001", "", BRAND)

FIRST_FR = ["Léa", "Hugo", "Chloé", "Louis", "Manon", "Gabriel", "Camille", "Arthur", "Inès", "Jules", "Zoé", "Nathan",
            "Sarah", "Lucas", "Emma", "Théo", "Juliette", "Raphaël", "Océane", "Maxime"]
LAST_FR = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
           "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Fournier"]
FIRST_EN = ["Olivia", "Jack", "Amelia", "Harry", "Isla", "George", "Ava", "Noah", "Mia", "Oscar", "Grace", "Leo"]
LAST_EN = ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Wright", "Hughes", "Green"]

TOPICS_FR = [
    ("Commande {n} pas encore livrée", "Bonjour, j'ai passé la commande {n} il y a cinq jours et je n'ai toujours rien reçu. Pouvez-vous vérifier ?"),
    ("Gâteau abîmé à la livraison", "Bonjour, le fraisier commandé pour l'anniversaire de ma fille est arrivé écrasé. Je suis très déçue."),
    ("Allergènes dans les brioches", "Bonjour, vos brioches contiennent-elles des fruits à coque ? Mon fils est allergique."),
    ("Remboursement commande {n}", "Bonjour, j'attends toujours le remboursement de la commande {n} annulée la semaine dernière."),
    ("Changer l'adresse de livraison", "Bonjour, est-il possible de modifier l'adresse de livraison de la commande {n} ?"),
    ("Merci pour la tarte !", "Un grand merci, la tarte Tatin était délicieuse, toute la famille a adoré."),
    ("Code promo refusé", "Le code promo NOEL26 est refusé sur mon panier alors qu'il est valable jusqu'à dimanche."),
]
TOPICS_EN = [
    ("Order {n} has not arrived", "Hi, I ordered {n} last week and it still has not arrived. Can you check where it is?"),
    ("Wrong cake delivered", "Hello, we received a chocolate cake instead of the lemon one we ordered. Not happy at all."),
    ("Gluten-free options?", "Hi there, do you have any gluten-free pastries that can be delivered to London?"),
    ("Refund for order {n}", "I cancelled order {n} ten days ago and I am still waiting for my refund."),
    ("Thank you!", "The croissants were amazing this morning, thank you so much!"),
]
X_COMPLAINTS_FR = [
    "@BriocheCo trois jours de retard pour ma commande et aucune réponse au service client. Inadmissible.",
    "@BriocheCo votre site plante au moment du paiement depuis ce matin, c'est pénible",
    "@BriocheCo merci pour la livraison express, les viennoiseries étaient parfaites !",
    "@BriocheCo le gâteau est arrivé complètement écrasé, je ne recommande pas",
]
X_COMPLAINTS_EN = [
    "@BriocheCo my order is 3 days late and nobody answers emails. Really disappointing.",
    "@BriocheCo your checkout keeps failing, tried 4 times now",
    "@BriocheCo best brioche in town, thanks for the quick delivery!",
]
MESSENGER_FR = [
    "Bonjour, vous livrez le dimanche ?",
    "Bonjour, ma commande {n} est indiquée livrée mais je n'ai rien reçu",
    "Est-ce que je peux commander une pièce montée pour 40 personnes ?",
]
MESSENGER_EN = ["Hi, do you deliver on Sundays?", "Hello, can I change my delivery slot for tomorrow?"]
COMMENTS = [
    "Toujours pas reçu ma commande passée il y a une semaine…",
    "Ça a l'air délicieux 😍",
    "Pourquoi personne ne répond aux messages ?",
    "Still waiting for my refund, this is ridiculous",
]
REPLIES_FR = [
    "Bonjour {first}, merci pour votre message. Je regarde votre commande tout de suite et je reviens vers vous.",
    "Bonjour {first}, nous sommes désolés pour ce désagrément. Pouvez-vous nous envoyer votre numéro de commande en message privé ?",
]
REPLIES_EN = [
    "Hi {first}, thanks for reaching out. I'm checking your order now and will get back to you shortly.",
    "Hi {first}, we're sorry about this. Could you DM us your order number?",
]


@dataclass
class Person:
    first: str
    last: str
    lang: str
    email: str
    x_id: str
    x_handle: str
    psid: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


def _people(rng: random.Random, count: int) -> list[Person]:
    people = []
    for i in range(count):
        fr = rng.random() < 0.65
        first = rng.choice(FIRST_FR if fr else FIRST_EN)
        last = rng.choice(LAST_FR if fr else LAST_EN)
        slug = f"{first}.{last}".lower().replace("é", "e").replace("è", "e").replace("ï", "i").replace("ë", "e")
        domain = rng.choice(["orange.fr", "free.fr", "gmail.com", "laposte.net", "outlook.com"])
        people.append(
            Person(first, last, "fr" if fr else "en", f"{slug}{i}@{domain}", str(2_000_000 + i),
                   f"@{first.lower()[:4]}{last.lower()[:5]}{i}".replace("é", "e").replace("è", "e"), str(7_000_000 + i))
        )
    return people


class _Builder:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.batches: dict[str, list[Message]] = {a.id: [] for a in (EMAIL_ACCOUNT, X_ACCOUNT, FB_ACCOUNT, FORM_ACCOUNT)}
        self.counter = 0

    def uid(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def ago(self, hours_max: float, hours_min: float = 0.05) -> datetime:
        return self.now - timedelta(hours=self.rng.uniform(hours_min, hours_max))

    def arrival(self, channel: str, history: bool, answered: bool = False) -> datetime:
        """When a thread started: a day or two ago for the customers of the desk's history
        (closed since); earlier today for the public posts already answered; otherwise within
        its channel's first-reply target for most, near the target (warned) for some, past it
        (breached) for a few."""
        if history:
            return self.ago(48, 8)
        if answered:
            return self.ago(10, 0.5)
        target = 0.5 if channel in ("x", "fb", "comment") else 4.0
        r = self.rng.random()
        low, high = (0.03, 0.7) if r < 0.78 else (0.76, 0.98) if r < 0.91 else (1.05, 2.5)
        return self.ago(target * high, target * low)

    def email_thread(self, p: Person, start: datetime, turns: int) -> None:
        topic = self.rng.choice(TOPICS_FR if p.lang == "fr" else TOPICS_EN)
        n = f"BR-{self.rng.randint(10000, 99999)}"
        subject = topic[0].format(n=n)
        refs: list[str] = []
        when = start
        author = Author(IdentityKind.EMAIL, p.email, p.email, p.name)
        for turn in range(turns):
            inbound = turn % 2 == 0
            mid = f"{self.uid('m')}.{'c' if inbound else 's'}@{'brioche.example' if not inbound else p.email.split('@')[1]}"
            if inbound:
                text = topic[1].format(n=n) if turn == 0 else (
                    "Merci, mais le problème n'est toujours pas réglé." if p.lang == "fr" else "Thanks, but this is still not sorted."
                )
                text += f"\n\n{p.first}"
            else:
                text = self.rng.choice(REPLIES_FR if p.lang == "fr" else REPLIES_EN).format(first=p.first)
                text += "\n\nL'équipe Brioche & Co" if p.lang == "fr" else "\n\nThe Brioche & Co team"
            self.batches[EMAIL_ACCOUNT.id].append(
                Message(
                    provider_id=mid, channel=Channel.EMAIL, surface=Surface.EMAIL,
                    direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
                    author=author if inbound else US_EMAIL, text=text, sent_at=when,
                    subject=subject if turn == 0 else ("Re: " + subject),
                    recipients=() if inbound else (author,),
                    reply_to_id=refs[-1] if refs else None, references=tuple(refs),
                    meta={"lang": p.lang},
                )
            )
            refs.append(mid)
            when = when + timedelta(hours=self.rng.uniform(0.3, 20))
            if when > self.now:
                break

    def tweet_thread(self, p: Person, start: datetime, answered: bool) -> None:
        text = self.rng.choice(X_COMPLAINTS_FR if p.lang == "fr" else X_COMPLAINTS_EN)
        tid = str(1_800_000_000_000_000_000 + self.counter * 7919)
        self.counter += 1
        author = Author(IdentityKind.TWITTER, p.x_id, p.x_handle, p.name, followers=self.rng.choice([12, 85, 240, 1300, 48000]))
        self.batches[X_ACCOUNT.id].append(
            Message(tid, Channel.TWITTER, Surface.MENTION, Direction.INBOUND, author, text, start,
                    thread_key=f"x:conv:{tid}", meta={"lang": p.lang})
        )
        replied_at = start + timedelta(minutes=self.rng.uniform(5, 25))
        if answered and replied_at < self.now:
            reply = self.rng.choice(REPLIES_FR if p.lang == "fr" else REPLIES_EN).format(first=p.first)
            rid = str(int(tid) + 1)
            self.batches[X_ACCOUNT.id].append(
                Message(rid, Channel.TWITTER, Surface.MENTION, Direction.OUTBOUND, US_X, f"{p.x_handle} {reply}"[:280],
                        replied_at, thread_key=f"x:conv:{tid}", reply_to_id=tid, recipients=(author,))
            )
            # The customer moves to DM and gives an order number.
            at = self.arrival("x", history=False)  # a while after our answer, waiting for the next one
            if at > replied_at + timedelta(minutes=10):
                self.batches[X_ACCOUNT.id].append(
                    Message(self.uid("dm:"), Channel.TWITTER, Surface.DM, Direction.INBOUND, author,
                            f"Voici ma commande BR-{self.rng.randint(10000, 99999)}, mon mail est {p.email}" if p.lang == "fr"
                            else f"My order is BR-{self.rng.randint(10000, 99999)}, email {p.email}",
                            at, thread_key=x_dm_thread_key(US_X.key, p.x_id))
                )

    def messenger(self, p: Person, start: datetime, turns: int) -> None:
        author = Author(IdentityKind.FACEBOOK, p.psid, "", p.name)
        when = start
        n = f"BR-{self.rng.randint(10000, 99999)}"
        for turn in range(turns):
            inbound = turn % 2 == 0
            if inbound:
                text = self.rng.choice(MESSENGER_FR if p.lang == "fr" else MESSENGER_EN).format(n=n)
            else:
                text = self.rng.choice(REPLIES_FR if p.lang == "fr" else REPLIES_EN).format(first=p.first)
            self.batches[FB_ACCOUNT.id].append(
                Message(self.uid("m_"), Channel.FACEBOOK, Surface.MESSENGER,
                        Direction.INBOUND if inbound else Direction.OUTBOUND, author if inbound else US_FB, text, when,
                        thread_key=f"fb:psid:5550001:{p.psid}", recipients=() if inbound else (author,))
            )
            when += timedelta(minutes=self.rng.uniform(2, 180))
            if when > self.now:
                break

    def comment(self, p: Person, start: datetime, post: str, answered: bool) -> None:
        author = Author(IdentityKind.FACEBOOK, p.psid, "", p.name)
        cid = f"{post}_{self.counter}"
        self.counter += 1
        self.batches[FB_ACCOUNT.id].append(
            Message(cid, Channel.FACEBOOK, Surface.COMMENT, Direction.INBOUND, author, self.rng.choice(COMMENTS), start,
                    thread_key=f"fb:post:{post}:{cid}")
        )
        replied_at = start + timedelta(minutes=self.rng.uniform(5, 25))
        if answered and replied_at < self.now:
            reply = self.rng.choice(REPLIES_FR if p.lang == "fr" else REPLIES_EN).format(first=p.first)
            self.batches[FB_ACCOUNT.id].append(
                Message(f"{cid}_r", Channel.FACEBOOK, Surface.COMMENT, Direction.OUTBOUND, US_FB, reply, replied_at,
                        thread_key=f"fb:post:{post}:{cid}", reply_to_id=cid, recipients=(author,))
            )

    def form_then_email(self, p: Person, start: datetime, continued: bool) -> None:
        topic = self.rng.choice(TOPICS_FR if p.lang == "fr" else TOPICS_EN)
        n = f"BR-{self.rng.randint(10000, 99999)}"
        sid = self.uid("s-")
        author = Author(IdentityKind.EMAIL, p.email, p.email, p.name)
        self.batches[FORM_ACCOUNT.id].append(
            Message(f"form:contact:{sid}", Channel.WEBFORM, Surface.FORM, Direction.INBOUND, author,
                    topic[1].format(n=n) + f"\n\nCommande: {n}", start, subject=topic[0].format(n=n),
                    thread_key=f"form:contact:{sid}", meta={"form_id": "contact", "lang": p.lang})
        )
        at = start + timedelta(hours=2)
        if continued and at < self.now:
            reply_id = f"{self.uid('r')}.s@brioche.example"
            self.batches[FORM_ACCOUNT.id].append(
                Message(reply_id, Channel.WEBFORM, Surface.EMAIL, Direction.OUTBOUND, US_EMAIL,
                        self.rng.choice(REPLIES_FR if p.lang == "fr" else REPLIES_EN).format(first=p.first), at,
                        subject="Re: " + topic[0].format(n=n), thread_key=f"form:contact:{sid}",
                        recipients=(author,), meta={"message_id": reply_id})
            )
            if at + timedelta(hours=3) < self.now:
                self.batches[EMAIL_ACCOUNT.id].append(
                    Message(f"{self.uid('c')}@{p.email.split('@')[1]}", Channel.EMAIL, Surface.EMAIL, Direction.INBOUND, author,
                            "Merci pour votre réponse, voici la photo du colis." if p.lang == "fr" else "Thanks, here is a photo of the parcel.",
                            at + timedelta(hours=3), subject="Re: " + topic[0].format(n=n), reply_to_id=reply_id,
                            references=(reply_id,))
                )


def build_demo(path: Path, now: datetime) -> str:
    """(Re)build the demo workspace at ``path``; returns a one-line summary."""
    if str(path) != ":memory:" and path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    store = Store.open(path)
    try:
        return populate(store, now)
    finally:
        store.close()


def populate(store: Store, now: datetime) -> str:
    rng = random.Random(SEED)
    people = _people(rng, 180)
    b = _Builder(rng, now)
    for account in (EMAIL_ACCOUNT, X_ACCOUNT, FB_ACCOUNT, FORM_ACCOUNT):
        store.save_account(account)
    for i, p in enumerate(people):
        # Many customers appear on several channels.
        channels = rng.sample(["email", "x", "fb", "comment", "form"], k=rng.choice([1, 1, 2, 2, 3]))
        for ch in channels:
            answered = ch in ("x", "comment") and rng.random() < 0.55  # public posts answered earlier today
            start = b.arrival(ch, history=i % 5 == 0, answered=answered)
            if ch == "email":
                b.email_thread(p, start, rng.choice([1, 1, 2, 3, 5, 8]))
            elif ch == "x":
                b.tweet_thread(p, start, answered=answered)
            elif ch == "fb":
                b.messenger(p, start, rng.choice([1, 2, 3, 4]))
            elif ch == "comment":
                b.comment(p, start, rng.choice(["5550001_900001", "5550001_900002", "5550001_900003"]), answered)
            else:
                b.form_then_email(p, start, continued=rng.random() < 0.6)
    added = 0
    for account in (FORM_ACCOUNT, EMAIL_ACCOUNT, X_ACCOUNT, FB_ACCOUNT):
        added += store.ingest(account, sorted(b.batches[account.id], key=lambda m: m.sent_at)).added
    # Triage that happened: some pending, some solved, tags, priorities, assignments, VIPs, CRM numbers.
    ids = store.open_conversation_ids()
    for cid in ids:
        r = rng.random()
        conv = store.conversation(cid)
        at = min(now, conv.last_message_at + timedelta(minutes=rng.uniform(1, 30)))
        if conv.last_message_at < now - timedelta(hours=6):  # the desk's history: dealt with since
            answered = conv.status is Status.OPEN  # pending: waiting on the customer after our reply
            store.set_status(cid, Status.PENDING if answered and r < 0.3 else Status.SOLVED, at, "camille")
        elif conv.status is Status.OPEN and r < 0.25:
            store.set_status(cid, Status.PENDING, at, "camille")
        elif conv.status is Status.OPEN and r < 0.45:
            store.set_status(cid, Status.SOLVED, at, "camille")
        if rng.random() < 0.3:
            store.add_tag(cid, rng.choice(["livraison", "remboursement", "allergènes", "delivery", "refund", "compliment"]), at, "camille")
        if rng.random() < 0.12:
            store.set_priority(cid, rng.choice([Priority.HIGH, Priority.URGENT]), at, "camille")
        if rng.random() < 0.35:
            store.assign(cid, rng.choice(["camille", "yanis", "sophie"]), at, "camille")
    for n, p in enumerate(people[:40]):
        found = store.identity(IdentityKind.EMAIL, p.email)
        if found is not None and found.customer_id is not None:
            store.update_customer(found.customer_id, crm_number=f"C-{100200 + n}", vip=n % 9 == 0)
    # Confirmed links: some X and Facebook identities belong to email customers.
    for p in people[:60:3]:
        email = store.identity(IdentityKind.EMAIL, p.email)
        if email is None or email.customer_id is None:
            continue
        for kind, key in ((IdentityKind.TWITTER, p.x_id), (IdentityKind.FACEBOOK, p.psid)):
            if store.identity(kind, key) is not None:
                store.link(kind, key, email.customer_id)
    from inbox.app.workspace import refresh_sla, triage_pass
    from inbox.sla.policy import POLICY_SETTING

    store.set_setting(POLICY_SETTING, DEMO_POLICIES)
    store.set_setting(BUILT_AT, to_db_time(now))
    triage_pass(store, now, batches=50)  # sentiment markers and triage priorities, as the app would
    refresh_sla(store, now)
    return f"{added} messages in {len(store.open_conversation_ids())} open conversations"


def ensure_demo(path: Path, now: datetime | None = None) -> None:
    """The demo workspace at ``path``, as of ``now``: built when missing (or older than the
    mark of when it was built), otherwise moved forward to ``now`` in one transaction."""
    from datetime import UTC

    from inbox.store.timeshift import shift_instants

    now = now or datetime.now(UTC)
    if path.exists():
        store = Store.open(path)
        try:
            built = store.setting(BUILT_AT)
            if built:
                shift_instants(store, now - from_db_time(built), {BUILT_AT: to_db_time(now)})
                return
        finally:
            store.close()
    build_demo(path, now)
