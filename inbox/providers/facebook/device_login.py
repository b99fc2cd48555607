"""Facebook Login for Devices: sign in on a phone with a short code, then pick the Page.

The app shows ``user_code`` and ``verification_uri`` (facebook.com/device), polls
``/device/login_status`` every ``interval`` seconds until the person approves, and receives a
*user* token. ``/me/accounts`` lists the Pages that person manages, each with its own Page token;
the Page token is the one the provider keeps. Tokens and the device code never appear in a
``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inbox.errors import AuthError, PermanentError, ProviderBug, RateLimited
from inbox.providers.facebook.graph import SERVICE, GraphClient
from inbox.providers.facebook.parse import paging_of
from inbox.providers.facebook.payload import ident, integer, obj, objs, text

#: What a helpdesk needs: list Pages, read and answer Messenger, read and answer comments.
PAGE_SCOPES = (
    "pages_show_list",
    "pages_messaging",
    "pages_read_engagement",
    "pages_read_user_content",
    "pages_manage_engagement",
    "pages_manage_metadata",
)
_PENDING, _SLOW_DOWN, _EXPIRED = 1349174, 1349172, 1349152
_MAX_PAGES = 20


@dataclass(frozen=True, slots=True)
class DeviceLogin:
    """A started device login: what to show the person, and the code to poll with."""

    user_code: str
    verification_uri: str
    expires_at: float
    interval: float
    code: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class PageChoice:
    """A Page the signed-in person manages, with its Page token (never shown)."""

    id: str
    name: str
    tasks: tuple[str, ...]
    token: str = field(repr=False)


def app_token(app_id: str, client_token: str) -> str:
    if not app_id or not client_token:
        raise PermanentError(f"{SERVICE}: device login needs the app id and client token")
    return f"{app_id}|{client_token}"


def _error(doc: dict[str, object]) -> tuple[int | None, int | None, str]:
    error = obj(doc.get("error"))
    code, subcode = integer(error.get("code")), integer(error.get("error_subcode"))
    return code, subcode, text(error.get("message")) or "refused"


async def start(
    graph: GraphClient, app: str, now: float, scopes: tuple[str, ...] = PAGE_SCOPES
) -> DeviceLogin:
    graph.remember_secret(app)
    doc = await graph.post_form("device/login", {"access_token": app, "scope": ",".join(scopes)})
    if "error" in doc:
        _code, _subcode, message = _error(doc)
        raise PermanentError(f"{SERVICE}: device login refused ({message})")
    code, user_code = text(doc.get("code")), text(doc.get("user_code"))
    if not code or not user_code:
        raise ProviderBug(f"{SERVICE}: device login answered without a code")
    return DeviceLogin(
        user_code=user_code,
        verification_uri=text(doc.get("verification_uri")) or "https://www.facebook.com/device",
        expires_at=now + float(integer(doc.get("expires_in")) or 420),
        interval=float(integer(doc.get("interval")) or 5),
        code=code,
    )


async def poll(graph: GraphClient, app: str, login: DeviceLogin, now: float) -> str | None:
    """The user token once the person approved; None while still pending."""
    if now >= login.expires_at:
        raise AuthError(f"{SERVICE}: the sign-in code {login.user_code} expired; start again")
    graph.remember_secret(app)
    graph.remember_secret(login.code)
    doc = await graph.post_form("device/login_status", {"access_token": app, "code": login.code})
    if "error" in doc:
        _code, subcode, message = _error(doc)
        if subcode == _PENDING:
            return None
        if subcode == _SLOW_DOWN:
            raise RateLimited(f"{SERVICE}: polling too often", login.interval * 2)
        if subcode == _EXPIRED:
            raise AuthError(f"{SERVICE}: the sign-in code {login.user_code} expired; start again")
        raise AuthError(f"{SERVICE}: sign-in refused ({message})")
    token = text(doc.get("access_token"))
    if not token:
        raise ProviderBug(f"{SERVICE}: device login answered without a token")
    graph.remember_secret(token)
    return token


async def pages(graph: GraphClient, user_token: str) -> list[PageChoice]:
    """The Pages the person manages (``/me/accounts``, every page of it)."""
    graph.remember_secret(user_token)
    found: list[PageChoice] = []
    params = {"fields": "id,name,access_token,tasks", "limit": "25"}
    for _ in range(_MAX_PAGES):
        doc = await graph.get("me/accounts", params, token=user_token)
        for item in objs(doc.get("data")):
            token = text(item.get("access_token"))
            graph.remember_secret(token)
            tasks = item.get("tasks")
            found.append(
                PageChoice(
                    id=ident(item.get("id")),
                    name=text(item.get("name")),
                    tasks=tuple(text(t) for t in tasks) if isinstance(tasks, list) else (),
                    token=token,
                )
            )
        paging = paging_of(doc)
        if not (paging.has_next and paging.after):
            break
        params = params | {"after": paging.after}
    return [page for page in found if page.id and page.token]


def page_identity(doc: dict[str, object]) -> tuple[str, str, str]:
    """``(id, name, type)`` of ``/me?metadata=1``; type is "page", "user" or ""."""
    kind = text(obj(doc.get("metadata")).get("type"))
    return ident(doc.get("id")), text(doc.get("name")), kind
