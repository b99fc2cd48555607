"""Property tests: the web-form parsers never raise, whatever they are given."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox.models import Author, Channel, Direction, IdentityKind, Message, ParsedBatch, Surface
from inbox.providers.webform.jotform import parse_jotform, split_pretty
from inbox.providers.webform.mail_rule import FormMailRule, apply_rule
from inbox.providers.webform.parse import parse_payload

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=25,
)
field_values = st.dictionaries(
    st.sampled_from(["name", "email", "phone", "message", "subject", "x", "E-mail"]),
    json_values | st.sampled_from(["a@b.example", "+33 6 12", "Léa <l@x.fr>"]),
)
submissions = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "submitted_at": json_values | st.sampled_from(["2026-11-20T09:14:00Z", "1763630040"]),
        "fields": field_values | json_values,
        "form": json_values,
    },
)
payloads = st.fixed_dictionaries(
    {"inbox_webform": st.sampled_from([1, "1", 2, None])},
    optional={"form": json_values, "submissions": st.lists(submissions, max_size=4) | json_values},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads | json_values)
def test_parse_payload_never_raises(doc: object) -> None:
    batch = parse_payload(doc, "fuzz")
    assert isinstance(batch, ParsedBatch)
    for msg in batch.messages:
        assert msg.sent_at.tzinfo is not None
        assert msg.author.key
        assert all(isinstance(v, str) for v in msg.meta.values())
    assert all("\n" not in r.reason for r in batch.rejections)


def _multipart(fields: dict[str, str], boundary: str) -> bytes:
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    )
    return (parts + f"--{boundary}--\r\n").encode("utf-8", "surrogatepass")


raw_requests = st.dictionaries(
    st.from_regex(r"q[0-9]{1,2}_[a-zA-Z]{1,8}", fullmatch=True)
    | st.sampled_from(["temp_upload", "fileUpload", "jsExecutionTracker", "event_id", "slug"]),
    json_values
    | st.lists(st.sampled_from(["https://x.example/uploads/a%20b.png", "b"]))
    | st.sampled_from(["onsubmit-fired:1743982457902", "1743982445903_1_x", "a@b.example"]),
    max_size=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    raw=raw_requests | json_values,
    pretty=st.text(alphabet=st.sampled_from(list("ab:, ;\n")), max_size=60),
    ids=st.tuples(st.text(max_size=8), st.text(max_size=8)),
    boundary=st.sampled_from(["b", "----xyz", "--a b--"]),
)
def test_parse_jotform_never_raises(
    raw: object, pretty: str, ids: tuple[str, str], boundary: str
) -> None:
    body = _multipart(
        {"formID": ids[0], "submissionID": ids[1], "rawRequest": json.dumps(raw), "pretty": pretty},
        boundary,
    )
    assert isinstance(parse_jotform(body, "fuzz"), ParsedBatch)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=400),
    st.sampled_from([None, "multipart/form-data; boundary=x", "text/plain"]),
)
def test_parse_jotform_never_raises_on_bytes(body: bytes, content_type: str | None) -> None:
    assert isinstance(parse_jotform(body, "fuzz", content_type), ParsedBatch)


pieces = st.text(alphabet=st.sampled_from(list("ab:,; ")), min_size=1, max_size=8)
labels = pieces.map(str.strip).filter(bool)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(labels, pieces), min_size=1, max_size=5))
def test_split_pretty_recovers_a_consistent_split(pairs: list[tuple[str, str]]) -> None:
    pretty = ", ".join(f"{label}:{value}" for label, value in pairs)
    found = split_pretty(pretty, [value for _, value in pairs])
    # Labels and values may hold ':' ',' ';': the split may differ but must rebuild the text.
    assert ", ".join(f"{label}:{value}" for label, value in found) == pretty
    assert {value for _, value in found} <= {value for _, value in pairs}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.lists(st.text(max_size=6), max_size=5))
def test_split_pretty_never_raises(pretty: str, values: list[str]) -> None:
    assert isinstance(split_pretty(pretty, values), list)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab:@.<> \n-")) | st.characters(), max_size=200),
    st.text(max_size=40),
)
def test_apply_rule_never_raises(text: str, reply_to: str) -> None:
    mail = Message(
        "p@x",
        Channel.EMAIL,
        Surface.EMAIL,
        Direction.INBOUND,
        Author(IdentityKind.EMAIL, "forms@site.example"),
        text,
        datetime(2026, 11, 20, tzinfo=UTC),
        subject="New submission",
        meta={"reply_to": reply_to},
    )
    form = apply_rule([FormMailRule("f", subject_pattern="submission")], mail)
    assert form is None or (form.provider_id == "p@x" and form.author.key)


def test_split_pretty_keeps_a_value_that_ends_with_the_separator() -> None:
    # found by the property above: the text's last ", " belongs to the last value
    assert split_pretty(":::, :::, ", [":", ":, "]) == [(":", ":"), (":", ":, ")]
