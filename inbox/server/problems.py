"""One mapping from what went wrong to HTTP, with RFC 9457 problem-details bodies everywhere.

Handlers raise :class:`Problem` subclasses (409 stale, 403 not a member, 401 signed out, 422 bad
input naming the field, 404 unknown); Litestar's own validation and HTTP errors are turned into
the same shape. Nothing from a request's credentials, a password hash or a token is ever copied
into a body: details are written here, not taken from exceptions of libraries.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.openapi import ResponseSpec

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_BASE = "https://inbox.invalid/problems/"


class Problem(Exception):
    """An answer that is not a success; ``extra`` members are added to the body (RFC 9457 §3.2)."""

    status = 500
    kind = "internal"
    title = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {
            "type": _BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


class Stale(Problem):
    """The agent acted on an outdated view (new messages since, another assignee): 409."""

    status = 409
    kind = "stale"
    title = "Changed since you last looked"


class NotMember(Problem):
    status = 403
    kind = "not-a-member"
    title = "Not a member of this channel account"


class Forbidden(Problem):
    status = 403
    kind = "forbidden"
    title = "Not allowed"


class SignedOut(Problem):
    status = 401
    kind = "signed-out"
    title = "Sign in first"


class BadInput(Problem):
    """Bad input, naming the field (``field`` in the body)."""

    status = 422
    kind = "bad-input"
    title = "Bad input"

    def __init__(self, field: str, detail: str, **extra: Any) -> None:
        super().__init__(detail, field=field, **extra)


class NotFound(Problem):
    status = 404
    kind = "not-found"
    title = "Not found"


class ProblemOut(msgspec.Struct):
    """The body of every answer that is not a success (RFC 9457); some add members of their own
    (``field``, ``account_id``, ``conversation_id``, ``current_assignee``, ``new_messages``)."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
    account_id: str | None = None


_MEANING = {
    401: "signed out: no session, or it has ended",
    403: "not a member of the channel account this touches",
    404: "no such conversation, customer or identity",
    409: "stale: changed since you looked (new messages, another assignee)",
    422: "bad input; `field` names it",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problems a route can answer."""
    return {
        status: ResponseSpec(ProblemOut, description=_MEANING[status], media_type=PROBLEM_JSON, generate_examples=False)
        for status in statuses
    }


def problem_response(problem: Problem) -> Response[dict[str, Any]]:
    headers = {"WWW-Authenticate": 'Bearer realm="inbox"'} if problem.status == 401 else None
    return Response(problem.body(), status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def _on_problem(_: Request[Any, Any, Any], exc: Problem) -> Response[dict[str, Any]]:
    return problem_response(exc)


def _validation_field(exc: ValidationException) -> str:
    """The field a validation error is about: a query parameter's name, or the body path msgspec
    names ("Object missing required field `password` - at `$.intent`" -> ``intent.password``)."""
    items = exc.extra if isinstance(exc.extra, list) else []
    for item in items:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message") or "")
        path = message.split("`$.", 1)[1].split("`", 1)[0] if "`$." in message else ""
        if "required field `" in message:
            name = message.split("required field `", 1)[1].split("`", 1)[0]
            return f"{path}.{name}" if path else name
        if path:
            return path
        if item.get("key") and item.get("key") != "data":
            return str(item["key"])
    return "body"


def _on_validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    field = _validation_field(exc)
    message = str(exc.detail)
    if isinstance(exc.extra, list) and exc.extra and isinstance(exc.extra[0], dict):
        message = str(exc.extra[0].get("message") or message)
    return problem_response(BadInput(field, message))


def _on_http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, NotAuthorizedException):
        return problem_response(SignedOut("a valid session token is required"))
    problem = Problem(str(exc.detail))
    problem.status = exc.status_code
    problem.kind = "http-" + str(exc.status_code)
    problem.title = str(exc.detail)
    return problem_response(problem)


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # Logged by type and route only: an exception's text may carry a value from the request.
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return problem_response(Problem("the server could not complete this request"))


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    Problem: _on_problem,
    ValidationException: _on_validation,
    HTTPException: _on_http,
    Exception: _on_unexpected,
}
