"""Walk every route of the URL conf as one persona, with every method it takes, filled with what
the persona may read, with real objects they may not, and with objects that do not exist.

The routes come from `get_resolver()`, so a new route is walked without anyone listing it; a
route with a parameter this module cannot fill fails the walk (add it to `PARAMETERS`). What a
walk checks of every answer (body and headers, streamed or not):

- no canary of the world appears in it;
- it is not a server error;
- for each route and method, a forbidden object answers exactly like a missing one: the same
  status and the same body once the object's own code is blanked out;
- a forbidden or missing object answered 403 or 404 wrote a denial to the audit trail.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from audit.models import AuditEvent, Outcome
from tests.factories import login_verified

from .walk_world import World

# route name → {URL parameter: the kind of object it names}. A route with a parameter missing
# here fails the walk, so a new route is filled on purpose.
PARAMETERS: dict[str, dict[str, str]] = {
    "accounts:password_reset_confirm": {"uidb64": "uidb64", "token": "reset_token"},
    **{
        f"accounts:{name}": {"code": "member"}
        for name in (
            "org_member",
            "org_clearance_grant",
            "org_readin_grant",
            "org_role_grant",
            "org_role_revoke",
            "org_mfa_reset",
            "org_member_sessions_end",
            "org_member_deactivate",
        )
    },
    **{f"accounts:org_clearance_{verb}": {"code": "clearance"} for verb in ("approve", "refuse", "revoke", "renew")},
    "accounts:org_readin_revoke": {"code": "readin"},
    "accounts:org_nomination_approve": {"code": "nomination"},
    "accounts:org_nomination_decline": {"code": "nomination"},
    "audit:export": {"fmt": "export_format"},
    "accounts:key_rename": {"key_id": "security_key"},
    "accounts:key_remove": {"key_id": "security_key"},
    "api:token_revoke": {"code": "token"},
    "api:session_end": {"code": "signed_in_session"},
    "api:org_token_revoke": {"code": "token"},
    "api:document_detail": {"code": "document"},
    "api:document_publish": {"code": "document"},
    "api:document_attachments": {"code": "document"},
    "api:document_attachment_named": {"code": "document", "filename": "filename"},
    "api:attachment_download": {"code": "attachment"},
    "api:eval_run_detail": {"code": "eval_run"},
    **{
        f"api:release_{verb}": {"code": "release"}
        for verb in ("detail", "approve", "refuse", "revoke", "update_approve", "update_decline")
    },
    "api:agreement_detail": {"code": "agreement"},
    "api:exercise_detail": {"code": "exercise"},
    "api:exercise_runs": {"code": "exercise"},
    "api:protocol_detail": {"code": "protocol"},
    **{f"exercises:{name}": {"code": "exercise"} for name in ("detail", "advance", "protocol_edit", "run_create")},
    **{f"exercises:{name}": {"code": "protocol"} for name in ("protocol_sign", "protocol_export")},
    **{
        f"sharing:document_{name}": {"code": "document"}
        for name in ("detail", "edit", "access", "access_export", "publish", "withdraw", "attachments")
    },
    "sharing:attachment_upload": {"code": "document"},
    "sharing:marking_approve": {"code": "marking"},
    "sharing:marking_refuse": {"code": "marking"},
    "sharing:release_request": {"code": "document"},
    "sharing:attachment_download": {"code": "attachment"},
    "sharing:attachment_destroy": {"code": "attachment"},
    **{
        f"sharing:release_{verb}": {"code": "release"}
        for verb in ("approve", "refuse", "revoke", "reinstate", "update", "update_approve", "update_decline")
    },
    **{
        f"sharing:agreement_{name}": {"code": "agreement"}
        for name in ("detail", "mou", "sign", "suspend", "resume", "terminate")
    },
    **{
        f"exchanges:{name}": {"code": "secondment"}
        for name in ("detail", "approve", "end", "extend", "extension_approve", "switch", "handover")
    },
}
# Django's admin: staff only, and the personas are not staff; every page must send them away.
ADMIN_PARAMETERS = {"app_label": "accounts", "url": "x"}
# What a session-ending route does to the walker's own session: it gets a session of its own.
SESSION_ENDING = {"accounts:logout"}
# A search box echoes the words searched: these routes are searched for each canary of a
# document the persona may read part of, and must answer as for words that match nothing.
SEARCHES = {
    "sharing:document_list": "text",
    "api:document_list": "q",
    "evals:results_compare": "task",
    "evals:results": "task",
    "api:eval_run_list": "task",
}
POST_DATA = {
    "reason": "walk",
    "justification": "walk",
    "title": "walk",
    "summary": "walk",
    "body": "walk",
    "role": "author",
    "compartment": "zqunseencompartment",
    "tier": "secret",
    "days": "30",
    "name": "walk",
    "scopes": "read",
}


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    parameters: tuple[str, ...]
    handles: tuple[str, ...] = ()  # a class-based view's methods; empty for a function view

    @property
    def is_api(self) -> bool:
        return self.name.startswith("api:") and self.pattern.startswith("api/v1/")


def routes() -> list[Route]:
    """Every named route of the URL conf, with the names of its parameters."""
    found: list[Route] = []

    def walk(patterns, namespace: str, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, ns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                names = tuple(entry.pattern.regex.groupindex)
                cls = getattr(entry.callback, "cls", None) or getattr(entry.callback, "view_class", None)
                handles = tuple(m for m in ("get", "post", "put", "patch", "delete") if cls and hasattr(cls, m))
                found.append(Route(f"{namespace}{entry.name}", prefix + str(entry.pattern), names, handles))

    walk(get_resolver().url_patterns, "", "")
    return found


def methods(route: Route) -> tuple[str, ...]:
    if route.name.startswith("admin:"):
        return ("get",)
    # GET and POST everywhere (a 405 must say no more than a 404), and whatever else a view takes.
    return tuple(dict.fromkeys(("get", "post", *route.handles)))


@dataclass
class Answer:
    route: str
    method: str
    role: str  # readable | forbidden:<label> | missing
    url: str
    status: int
    headers: str
    body: bytes
    denials: int


class Walker:
    """One persona's session and token, and the findings of the walk."""

    def __init__(self, world: World):
        self.world = world
        self.session = Client()
        login_verified(self.session, world.persona)
        self.api = APIClient()
        self.api.credentials(HTTP_AUTHORIZATION=f"Bearer {world.token}")
        self.problems: list[str] = []
        self.answers: list[Answer] = []

    # -- filling ---------------------------------------------------------------------------------

    def fills(self, route: Route) -> list[tuple[str, dict]]:
        """(role, kwargs) for every way the walk fills `route`'s parameters."""
        if route.name.startswith("admin:"):
            # Every admin page sends a non-staff persona away before reading its parameters.
            return [("readable", {name: ADMIN_PARAMETERS.get(name, "1") for name in route.parameters})]
        if not route.parameters:
            return [("readable", {})]
        kinds = PARAMETERS.get(route.name)
        if kinds is None or set(kinds) != set(route.parameters):
            raise AssertionError(
                f"the walk does not know how to fill {route.name} ({route.pattern}): add it to PARAMETERS"
            )
        if route.name == "accounts:password_reset_confirm":

            def uid(pk) -> str:
                return urlsafe_base64_encode(force_bytes(pk))

            return [
                ("readable", {"uidb64": uid(self.world.persona.pk), "token": "set-password"}),
                (
                    "forbidden:partner's",
                    {"uidb64": uid(self.world.fill("user").forbidden["partner's"]), "token": "abc-def"},
                ),
                ("missing", {"uidb64": uid(10**9), "token": "abc-def"}),
            ]
        if route.name == "audit:export":
            return [("readable", {"fmt": "csv"}), ("readable", {"fmt": "jsonl"}), ("readable", {"fmt": "xml"})]
        (main,) = [name for name, kind in kinds.items() if kind not in ("filename",)]
        fills = self.world.fills[kinds[main]]
        extra = {name: "walk.txt" for name, kind in kinds.items() if kind == "filename"}
        result = [("readable", {main: value, **extra}) for value in fills.readable]
        result += [(f"forbidden:{label}", {main: value, **extra}) for label, value in fills.forbidden.items()]
        result.append(("missing", {main: fills.missing, **extra}))
        return result

    # -- asking ----------------------------------------------------------------------------------

    def ask(self, route: Route, method: str, role: str, kwargs: dict, query: dict | None = None) -> Answer:
        if route.name == "admin:None":  # the admin's unnamed catch-all
            url = "/admin/walk/"
        else:
            url = reverse(route.name, kwargs=kwargs) if kwargs else reverse(route.name)
        client = self.api if route.is_api else self.session
        if route.name in SESSION_ENDING:
            client = Client()
            login_verified(client, self.world.persona)
        before = AuditEvent.objects.filter(outcome=Outcome.DENIED).count()
        call = getattr(client, method)
        if method == "get":
            response = call(url, query or {})
        elif route.is_api:
            response = call(url, {"title": "walk"}, format="json")
        else:
            response = call(url, POST_DATA)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        # A success notice waits for the next page; each answer is compared as if asked alone.
        client.cookies.pop("messages", None)
        headers = "\n".join(f"{k}: {v}" for k, v in response.items())
        denials = AuditEvent.objects.filter(outcome=Outcome.DENIED).count() - before
        answer = Answer(route.name, method, role, url, response.status_code, headers, body, denials)
        self.answers.append(answer)
        self.check(answer)
        return answer

    def check(self, answer: Answer) -> None:
        where = f"{answer.method.upper()} {answer.url} [{answer.route}, {answer.role}]"
        if answer.status >= 500:
            self.problems.append(f"{where}: server error {answer.status}")
        text = (answer.headers + "\n").encode() + answer.body
        lowered = text.lower()
        leaked = sorted(c for c in self.world.canaries if c.encode() in lowered)
        if leaked:
            self.problems.append(f"{where}: {answer.status} shows {', '.join(leaked)}")
        if answer.role != "readable" and answer.status in (403, 404) and answer.denials < 1:
            self.problems.append(f"{where}: {answer.status} with no denial audited")

    # -- walking ---------------------------------------------------------------------------------

    def walk(self) -> None:
        # Thousands of refusals: their log lines (tracebacks included) would cost more than the walk.
        quiet = [logging.getLogger(name) for name in ("django.request", "accord.request", "django.security")]
        levels = [logger.level for logger in quiet]
        for logger in quiet:
            logger.setLevel(logging.CRITICAL)
        try:
            self._walk()
        finally:
            for logger, level in zip(quiet, levels, strict=True):
                logger.setLevel(level)

    def _walk(self) -> None:
        every = routes()
        # Session-ending and credential-revoking answers last, so the rest see a live persona.
        every.sort(key=lambda r: r.name in SESSION_ENDING)
        for route in every:
            for method in methods(route):
                answers = [self.ask(route, method, role, kwargs) for role, kwargs in self.fills(route)]
                self.compare(route, answers)
            if route.name in SEARCHES:
                self.search(route)
        self.walked = len(every)

    def compare(self, route: Route, answers: list[Answer]) -> None:
        """A forbidden object must answer exactly as a missing one."""
        missing = [a for a in answers if a.role == "missing"]
        if not missing:
            return
        (missing,) = missing
        for answer in answers:
            if not answer.role.startswith("forbidden:"):
                continue
            if self.excused(route, answer):
                continue
            if answer.status != missing.status or shape(answer) != shape(missing):
                self.problems.append(
                    f"{answer.method.upper()} {route.name} [{answer.role}] answers {answer.status} "
                    f"where a missing one answers {missing.status}{diff(answer, missing)}"
                )

    def excused(self, route: Route, answer: Answer) -> bool:
        """An organisation admin sees the access history of every document their organisation
        originated, read or not (docs/SECURITY.md): its existence is theirs to know."""
        code = answer.url.rstrip("/").split("/")[-2] if "/access" in answer.url else ""
        return route.name.startswith("sharing:document_access") and ("document", code) in self.world.own

    def search(self, route: Route) -> None:
        """Searching for a canary finds what searching for nothing finds."""
        param = SEARCHES[route.name]
        blank = self.ask(route, "get", "search:nothing", {}, {param: "zzznothingmatches"})
        for canary in sorted(self.world.searched):
            found = self.ask_search(route, param, canary)
            mine, nothing = normalise(found.body, canary), normalise(blank.body, "zzznothingmatches")
            if found.status != blank.status or mine != nothing:
                self.problems.append(f"GET {route.name}?{param}={canary} finds something{diff_bodies(mine, nothing)}")

    def ask_search(self, route: Route, param: str, canary: str) -> Answer:
        # The canary is in the query the persona sent: it is echoed, so leave it out of the check.
        saved = self.world.canaries
        self.world.canaries = saved - {canary}
        try:
            return self.ask(route, "get", f"search:{canary}", {}, {param: canary})
        finally:
            self.world.canaries = saved


_VOLATILE = [
    re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"'),
    re.compile(rb'nonce="[^"]*"'),
    re.compile(rb'"request_id": ?"[^"]*"'),
    re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
]


def normalise(body: bytes, *codes: str) -> bytes:
    for code in codes:
        body = body.replace(code.encode(), b"{code}")
    for pattern in _VOLATILE:
        body = pattern.sub(b"{volatile}", body)
    return body


def shape(answer: Answer) -> object:
    code = answer.url.rstrip("/").split("/")
    body = normalise(answer.body, *[part for part in code if _is_uuid(part)])
    try:
        return _json_shape(json.loads(body))
    except ValueError:
        return body


def _json_shape(value):
    if isinstance(value, dict):
        return {key: _json_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_shape(item) for item in value]
    return value


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def diff(answer: Answer, other: Answer) -> str:
    def text(value) -> bytes:
        return value if isinstance(value, bytes) else json.dumps(value, indent=0).encode()

    return diff_bodies(text(shape(answer)), text(shape(other)))


def diff_bodies(one: bytes, two: bytes) -> str:
    import difflib

    lines = difflib.unified_diff(
        one.decode(errors="replace").splitlines(), two.decode(errors="replace").splitlines(), lineterm="", n=0
    )
    shown = [line for line in lines if not line.startswith(("---", "+++", "@@"))][:6]
    return (":\n      " + "\n      ".join(line[:160] for line in shown)) if shown else ""
