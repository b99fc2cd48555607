"""Hostile JSON and bytes through every import entry point (issue 18.1: one bad file never stops
an import). Deeply nested and truncated X and Graph JSON, a JSON-lines file with a hostile line,
random bytes: each file gives messages or one-line reasons naming it, never an exception, and
``inbox import`` of a folder mixing them with good files stores every good message, names every
bad file and exits non-zero."""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox.cli.importing import import_paths, parse_path
from inbox.models import ParsedBatch
from inbox.providers import webform
from inbox.providers.email import sources as mail_sources
from inbox.providers.facebook import parse as facebook_parse
from inbox.providers.twitter import parse as twitter_parse
from inbox.store.repository import Store
from tests.corpus import CORPUS, corpus_dir, corpus_files
from tests.reliability.harness import Lane

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
#: Every way a file reaches a parser: each channel's file reader, and the importer's dispatch.
ENTRY_POINTS: dict[str, Callable[[Path], ParsedBatch | None]] = {
    "x": twitter_parse.import_file,
    "graph": facebook_parse.import_file,
    "webform": webform.import_file,
    "mail": lambda path: mail_sources.import_mail(path, WHEN),
    "importer": lambda path: parse_path(path, WHEN),
}
#: Envelopes that send a value down each parser's deepest paths.
ENVELOPES = [
    '{"data": %s, "includes": {"users": []}, "meta": {"result_count": 1}}',  # X API v2
    '{"data": [{"id": "1", "text": "hi", "author_id": "2", "entities": %s}]}',
    '[{"id_str": "1", "text": "hi", "user": %s}]',  # X API v1.1
    '{"object": "page", "entry": %s}',  # Graph webhook
    '{"data": [{"id": "1_2", "message": "hi", "from": %s}], "paging": {}}',  # Graph list
    '{"inbox_webform": 1, "submissions": %s}',  # our web-form JSON
    "%s",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["1", "2021-07-23T09:50:48+0000", "2021-11-15T19:08:05.000Z", "page"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(
        st.sampled_from(["id", "text", "data", "entry", "messaging", "from", "fields", "x"]),
        inner,
        max_size=4,
    ),
    max_leaves=20,
)


@st.composite
def nested(draw: st.DrawFn, min_depth: int = 0, max_depth: int = 3000) -> str:
    """JSON text nested ``depth`` levels of arrays and objects around a random value."""
    depth = draw(st.integers(min_depth, max_depth))
    kinds = draw(st.lists(st.booleans(), min_size=1, max_size=8))
    inner = json.dumps(draw(JSON))
    opening = "".join("[" if kinds[i % len(kinds)] else '{"k": ' for i in range(depth))
    closing = "".join("]" if kinds[i % len(kinds)] else "}" for i in reversed(range(depth)))
    return opening + inner + closing


def hostile_documents(min_depth: int = 0) -> st.SearchStrategy[str]:
    return st.builds(lambda shape, value: shape % value, st.sampled_from(ENVELOPES), nested(min_depth))


@st.composite
def truncated(draw: st.DrawFn) -> str:
    """An X, Graph or web-form document cut short (a proper prefix of an object or array)."""
    text = draw(hostile_documents())
    if not text.startswith(("{", "[")):
        text = "[" + text + "]"
    return text[: draw(st.integers(1, len(text) - 1))]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile_json")


def check(path: Path, batch: ParsedBatch | None, *, must_answer: bool = False) -> None:
    """Messages or one-line reasons naming the file; None only where a parser may decline."""
    if batch is None:
        assert not must_answer
        return
    assert isinstance(batch, ParsedBatch)
    for rejection in batch.rejections:
        assert rejection.source.startswith(str(path)), rejection
        assert rejection.reason and "\n" not in rejection.reason, rejection
        assert "unexpected" not in rejection.reason, rejection  # the importer's last guard
    if must_answer:
        assert batch.messages or batch.rejections


def every_entry_point(path: Path, *, must_answer: bool) -> dict[str, ParsedBatch | None]:
    """Each entry point's batch; with ``must_answer``, the mail reader and the importer each give
    messages or a rejection (a valid payload may hold nothing to import, so not always)."""
    found = {name: read(path) for name, read in ENTRY_POINTS.items()}
    for name, batch in found.items():
        check(path, batch, must_answer=must_answer and name in ("mail", "importer"))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=hostile_documents(), suffix=st.sampled_from([".json", ".jsonl", ""]))
def test_nested_json_of_any_depth_never_raises(workdir: Path, text: str, suffix: str) -> None:
    path = workdir / f"nested{suffix}"
    path.write_text(text, encoding="utf-8")
    every_entry_point(path, must_answer=False)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=hostile_documents(min_depth=101))
def test_json_nested_beyond_the_limit_is_rejected_as_such(workdir: Path, text: str) -> None:
    path = workdir / "deep.json"
    path.write_text(text, encoding="utf-8")
    found = every_entry_point(path, must_answer=True)
    importer = found["importer"]
    assert importer is not None and not importer.messages
    assert any("nested" in r.reason for r in importer.rejections), importer.rejections


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=truncated())
def test_truncated_json_is_rejected_with_a_reason(workdir: Path, text: str) -> None:
    path = workdir / "cut.json"
    path.write_text(text, encoding="utf-8")
    found = every_entry_point(path, must_answer=True)
    importer = found["importer"]
    assert importer is not None and not importer.messages and importer.rejections


PREFIXES = [b"", b"{", b"[", b"\xef\xbb\xbf{", b'{"data": [', b'{"object": "page", "entry": [',
            b'{"inbox_webform": 1, ', b"From x@y Mon Jan  1 00:00:00 2024\n", b"From: a@b.test\r\n",
            b"--b\r\nContent-Disposition: form-data; name=\"formID\"\r\n\r\n"]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from(PREFIXES),
    raw=st.binary(max_size=3000),
    suffix=st.sampled_from([".json", ".jsonl", ".eml", ".mbox", ".yaml", ""]),
)
def test_random_bytes_in_any_file_never_raise(
    workdir: Path, prefix: bytes, raw: bytes, suffix: str
) -> None:
    path = workdir / f"bytes{suffix}"
    path.write_bytes(prefix + raw)
    every_entry_point(path, must_answer=False)
    maildir = workdir / "maildir"
    shutil.rmtree(maildir, ignore_errors=True)
    (maildir / "cur").mkdir(parents=True)
    (maildir / "cur" / "1:2,S").write_bytes(prefix + raw)
    for read in (ENTRY_POINTS["mail"], ENTRY_POINTS["importer"]):
        check(maildir, read(maildir))


def x_line(tweet_id: int) -> str:
    """One X API v2 response page holding one post (a twarc JSON-lines line)."""
    return json.dumps(
        {
            "data": [
                {"id": str(tweet_id), "text": f"post {tweet_id}", "author_id": "2244994945",
                 "created_at": "2021-11-15T19:08:05.000Z"}
            ],
            "includes": {"users": [{"id": "2244994945", "username": "dev", "name": "Dev"}]},
        }
    )  # fmt: skip


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hostile=st.lists(hostile_documents(min_depth=101) | truncated(), min_size=1, max_size=5),
    order=st.randoms(use_true_random=False),
    good=st.integers(1, 5),
)
def test_a_bad_json_line_costs_that_line_only(
    workdir: Path, hostile: list[str], order: random.Random, good: int
) -> None:
    lines = [(True, x_line(1460323737035677698 + n)) for n in range(good)]
    lines += [(False, text) for text in hostile]
    order.shuffle(lines)
    path = workdir / "pages.jsonl"
    path.write_text("\n".join(text for _, text in lines) + "\n", encoding="utf-8")
    batch = twitter_parse.import_file(path)
    assert batch is not None
    check(path, batch)
    assert sorted(m.provider_id for m in batch.messages) == sorted(
        str(1460323737035677698 + n) for n in range(good)
    )
    bad_lines = [number for number, (ok, _) in enumerate(lines, start=1) if not ok]
    assert [r.reason.split(":")[0] for r in batch.rejections] == [f"line {n}" for n in bad_lines]


def test_json_lines_longer_than_the_cap_are_refused_by_number(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    filler = json.dumps({"data": [], "pad": "x" * (17 * 1024 * 1024)})
    path.write_text(x_line(1460323737035677698) + "\n" + filler + "\n" + x_line(1460323737035677699))
    batch = twitter_parse.import_file(path)
    assert batch is not None
    assert [m.provider_id for m in batch.messages] == ["1460323737035677698", "1460323737035677699"]
    assert [r.reason for r in batch.rejections] == ["line 2: line longer than 16 MB"]


def test_hundreds_of_bad_lines_are_counted_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "noisy.jsonl"
    path.write_text("\n".join([x_line(1460323737035677698)] + ["{broken"] * 300))
    batch = twitter_parse.import_file(path)
    assert batch is not None and len(batch.messages) == 1
    assert len(batch.rejections) == 21
    assert batch.rejections[0].reason.startswith("line 2: invalid JSON")
    assert batch.rejections[-1].reason.startswith("and 280 more lines rejected (first: line 22:")


# The hostile cases of issue 18.1, each of which ended `inbox import` with a traceback.
DEEP = "[" * 1000 + "]" * 1000
HOSTILE = {
    "a_deep_x.json": '{"data": [{"id": "1", "text": "hi", "entities": ' + DEEP + '}], "includes": {}}',
    "a_deep_graph.json": '{"object": "page", "entry": [{"id": "1", "time": 1, "messaging": ' + DEEP + "}]}",
    "a_truncated_x.json": '{"data":[{"id":"1","text":"cut',
}


def test_import_of_a_folder_mixing_hostile_and_good_files(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    for name, text in HOSTILE.items():
        (folder / name).write_text(text, encoding="utf-8")
    graph = corpus_dir("sns-python-facebook", "testdata", "facebook", "apidata", "comments")
    whole = (graph / "comments_p1.json").read_text("utf-8")
    (folder / "a_truncated_graph.json").write_text(whole[: len(whole) // 2], encoding="utf-8")
    twarc = corpus_dir("twarc-csv", "test-data")
    pages = [(twarc / n).read_text("utf-8").splitlines()[0] for n in ("two_tweets.jsonl", "cotweet.jsonl")]
    (folder / "a_pages.jsonl").write_text(f"{pages[0]}\n{'[' * 5000}\n{pages[1]}\n", encoding="utf-8")
    mails = corpus_dir("chatwoot", "spec", "fixtures", "files")
    good = [mails / n for n in ("in_reply_to.eml", "only_text.eml", "reply_cc.eml")]
    good += [
        corpus_dir("sns-python-twitter", "testdata", "apis", "tweet", "tweets_resp.json"),
        graph / "comments_p2.json",
    ]
    for path in good:
        shutil.copy(path, folder / f"z_{path.name}")  # after the hostile files, in a temp folder
    parsed = [m for p in [*good, folder / "a_pages.jsonl"] for m in parse_path(p, WHEN).messages]
    expected = {m.provider_id for m in parsed if m.meta.get("retweet") != "1"}  # retweets: ignored
    assert len(expected) >= 10  # 3 mails, 2 posts, 5 comments and the post of one page

    lane = Lane(tmp_path / "lane", "hostile_json")
    done = lane.run("import", "--json", str(folder))

    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 1  # something was rejected, after importing everything else
    rejected = {Path(r["source"]).name: r["reason"] for r in json.loads(done.stdout)["rejected"]}
    assert set(rejected) == {*HOSTILE, "a_truncated_graph.json", "a_pages.jsonl"}
    assert "nested 1003 levels deep" in rejected["a_deep_x.json"]
    assert "nested 1003 levels deep" in rejected["a_deep_graph.json"]
    assert rejected["a_truncated_x.json"].startswith("invalid JSON: Unterminated string")
    assert rejected["a_truncated_graph.json"].startswith("invalid JSON")
    assert rejected["a_pages.jsonl"] == "line 2: JSON nested 5000 levels deep (the limit is 100)"
    assert all("\n" not in reason for reason in rejected.values())
    store = Store.open(lane.db)
    try:
        stored = {row[0] for row in store._rows("SELECT provider_id FROM messages")}
    finally:
        store.close()
    assert expected <= stored


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_every_parser_reads_the_whole_corpus_without_raising(name: str) -> None:
    files = corpus_files()
    assert len(files) > 800
    read = ENTRY_POINTS[name]
    for path in files:
        check(path, read(path))
    if name in ("mail", "importer"):
        for folder in sorted(p for p in CORPUS.rglob("*") if (p / "cur").is_dir()):
            check(folder, read(folder))


def test_a_parser_bug_costs_its_file_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "a_bug.json").write_text(x_line(1460323737035677698), encoding="utf-8")
    (folder / "b_fine.json").write_text(x_line(1460323737035677699), encoding="utf-8")
    (folder / "c_fine.eml").write_bytes(
        b"From: a@b.test\r\nMessage-ID: <fine@b.test>\r\nSubject: hi\r\n\r\nhello\r\n"
    )
    real = twitter_parse.import_file

    def buggy(path: Path) -> ParsedBatch | None:
        if path.name == "a_bug.json":
            raise KeyError("a bug")
        return real(path)

    monkeypatch.setattr(twitter_parse, "import_file", buggy)
    store = Store.open(tmp_path / "inbox.db")
    try:
        summary = import_paths(store, [folder])
        stored = {row[0] for row in store._rows("SELECT provider_id FROM messages")}
    finally:
        store.close()
    assert [(Path(r.source).name, r.reason) for r in summary.rejections] == [
        ("a_bug.json", "not imported: unexpected KeyError while reading it (a bug)")
    ]
    assert stored == {"1460323737035677699", "fine@b.test"}
    assert "KeyError: 'a bug'" in caplog.text  # the traceback is logged for the bug report


def test_pipes_are_named_not_read(tmp_path: Path) -> None:
    """Opening a named pipe waits for a writer for ever: a pipe among the files is rejected."""
    folder = tmp_path / "drop"
    maildir = folder / "mail"
    (maildir / "cur").mkdir(parents=True)
    os.mkfifo(folder / "a_pipe.json")
    os.mkfifo(maildir / "cur" / "1:2,S")
    (maildir / "cur" / "2:2,S").write_bytes(
        b"From: a@b.test\r\nMessage-ID: <kept@b.test>\r\nSubject: hi\r\n\r\nhello\r\n"
    )
    (folder / "z_page.json").write_text(x_line(1460323737035677698), encoding="utf-8")
    store = Store.open(tmp_path / "inbox.db")
    try:
        summary = import_paths(store, [folder])
        stored = {row[0] for row in store._rows("SELECT provider_id FROM messages")}
    finally:
        store.close()
    assert sorted((r.source, r.reason) for r in summary.rejections) == [
        (str(folder / "a_pipe.json"), "not a regular file"),
        (str(maildir / "cur" / "1:2,S"), "not a regular file"),
    ]
    assert stored == {"kept@b.test", "1460323737035677698"}
