"""The leak crawler: every page and API operation, with real ids, filters and bodies.

Routes come from ``tests.access.routes`` (the URL resolver and the ninja API), so a route
added anywhere is crawled without editing this file. A route parameter is filled from a
*bundle* — the records of one case (its id, its principal, its notes, tasks, documents,
placement, application…) or of one intake request — so that every parameter of one request
points into the same case. A parameter this module cannot fill raises ``LookupError``: teach
``PARAM_KINDS`` (or ``PK_KINDS``) the new kind instead of letting a route go unvisited.

What is sent, for one user:

- every GET page: bare, and as an htmx request; list pages again with every field of their
  GET forms (found by parsing the page itself) filled with each search term, id or option;
- every POST page, with a form body whose fields point at the bundle's records;
- every API operation, with path parameters and JSON body ids from a bundle — and, through
  a record the user may see, body ids of each record they may not see — and, for GET lists,
  every query parameter of the OpenAPI document filled with each search term, id or value.

Every URL is tried with each bundle the user may not see and with up to two they may see.
What is checked: no forbidden string in any answer, body or header (the caller says which);
no server error; a record the user may not see answers with the status a missing one gets,
and a search for a marker exactly like a search for nobody. Writes (POST, PATCH, DELETE) run
in a savepoint that is rolled back, so each starts from the same data; inside it, when the
write touched a table holding hidden records, those records must be as they were. A route
refused to the user's role (403) or not serving the method (405) is tried once.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.access.routes import (
    SAMPLE_UUID,
    Route,
    _operation_schema,
    _resolve,
    all_routes,
    sample_value,
)

# Route parameter name → the bundle key that fills it.
PARAM_KINDS: dict[str, str] = {
    "case_id": "case",
    "person_id": "person",
    "verification_id": "verification",
    "note_id": "note",
    "task_id": "task",
    "document_id": "document",
    "placement_id": "placement",
    "file_id": "file",
    "shelter_id": "shelter",
    "application_id": "application",
    "travel_id": "travel",
    "dossier_id": "dossier",
    "request_id": "request",
    "user_id": "staff",
    "token_id": "token",
    "booking_id": "booking",
    "key_id": "key",  # the user's own security key: an account page, no case record
    "pair_id": "pair",  # a duplicate review pair: the principal and the spouse of a case
}
# ``pk`` is named after the path segment before it.
PK_KINDS: dict[str, str] = {
    "cases": "case",
    "shelters": "shelter",
    "inbox": "request",
    "groups": "group",  # a group of near-identical intake requests
    "applications": "application",
    "travel": "travel",
    "dossiers": "dossier",
}
# Fields of JSON and form bodies that name a record, and the bundle key they take.
BODY_KINDS: dict[str, str] = {
    "case_id": "case", "case": "case",
    "person_id": "person", "person": "person",
    "shelter_id": "shelter", "shelter": "shelter",
    "application_id": "application", "application": "application",
    "travel_id": "travel",
    "assignee_id": "staff", "assignee": "staff",
    "verifier_id": "staff", "verifier": "staff",
    "liaison": "staff",
    "follows": "application",
}
# Writes never sent, each with its reason; the GET of the same page is crawled as usual.
NOT_WRITTEN: dict[str, str] = {
    "accounts:logout": "ends the crawler's own session",
    "accounts:login": "a sign-in: no record of a case behind it",
    "accounts:verify": "a sign-in step: no record of a case behind it",
    "accounts:reauth": "counts a failed password toward the crawler's lockout",
    "accounts:password": "counts a failed password toward the crawler's lockout",
    "keyring:seal": "would seal the key agent for the rest of the run (not a database write)",
    "keyring:unseal": "shares are not part of the crawl",
}
METHODS_WITH_BODY = {"POST", "PATCH", "PUT", "DELETE"}
# Query parameters that search (filled with the markers' names, phones and numbers) and that
# name a record (filled with the markers' ids); a parameter that filters by a state is filled
# with each value of its enum, when the document gives one.
SEARCH_PARAMS = frozenset({"q", "search", "query", "name", "phone", "number"})
ID_PARAMS = frozenset({"object", "case", "person", "object_id"})
# A filter is tried with each of its first values (statuses fit; a list of every country
# would only repeat the same reference data).
OPTIONS = 12


@dataclass
class Bundle:
    """The records of one case (or request, or shelter) and the strings that identify them."""

    name: str
    ids: dict[str, str] = field(default_factory=dict)  # bundle key → id (or slug)
    organization: str = ""  # the organization's id
    tokens: dict[str, list[str]] = field(default_factory=dict)  # category → strings
    search: list[str] = field(default_factory=list)  # what a list is searched with

    def id_for(self, kind: str) -> str | None:
        return self.ids.get(kind)


@dataclass
class Finding:
    request: str
    problem: str

    def __str__(self) -> str:
        return f"{self.request}: {self.problem}"


@dataclass
class Tally:
    pages: int = 0
    operations: int = 0
    writes: int = 0
    compared: int = 0  # extra requests: the same with a missing record, or for nobody
    findings: list[Finding] = field(default_factory=list)


# --- forms on pages -------------------------------------------------------------------------------


@dataclass
class GetForm:
    texts: list[str] = field(default_factory=list)
    options: dict[str, list[str]] = field(default_factory=dict)


class _FormParser(HTMLParser):
    """The GET forms of a page: their text fields and the options of their selects."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[GetForm] = []
        self._form: GetForm | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = GetForm() if a.get("method", "get").lower() == "get" else None
            if self._form is not None:
                self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name") and a.get("type", "text") in {
                "text", "search", "tel", ""}:
            self._form.texts.append(a["name"])
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self._form.options.setdefault(self._select, [])
        elif tag == "option" and self._select is not None and a.get("value"):
            self._form.options[self._select].append(a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def get_forms(html: str) -> list[GetForm]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


# --- filling routes -------------------------------------------------------------------------------


def _param_kind(route: Route, name: str) -> str:
    if name == "pk":
        segments = [s for s in route.route.split("/") if s]
        index = next(i for i, s in enumerate(segments) if s.endswith("pk>"))
        before = segments[index - 1] if index else ""
        if before not in PK_KINDS:
            raise LookupError(f"{route.key}: what does <pk> after {before!r} name? Teach "
                              "tests/access/crawl.py PK_KINDS.")
        return PK_KINDS[before]
    if name in PARAM_KINDS:
        return PARAM_KINDS[name]
    if name in {"slug", "action"}:
        return name
    raise LookupError(f"{route.key}: the crawler cannot fill <{name}>. Teach "
                      "tests/access/crawl.py PARAM_KINDS which record it names.")


def route_params(route: Route) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", route.route)


# Parameters that name no record of a case: filled from the crawl's ``extras``.
# Every record it names is missing: what a hidden record must answer like.
_NOBODY = Bundle("nobody", ids=dict.fromkeys(PARAM_KINDS.values(), str(SAMPLE_UUID)))
EXTRAS = frozenset({"slug", "action", "token", "key"})
# Records the user may see are a means (a path to aim writes at markers through, a page to
# check projections on), not the point: two per route are enough.
VISIBLE_PER_ROUTE = 2


def fill_path(route: Route, bundle: Bundle | None, extras: dict[str, str]) -> str | None:
    """The route's URL with its parameters taken from ``bundle`` (None when the bundle has no
    record of a kind the route needs)."""
    url = "/" + route.route
    for name in route_params(route):
        kind = _param_kind(route, name)
        value = extras.get(kind) if kind in EXTRAS else (
            bundle.id_for(kind) if bundle is not None else None)
        if value is None:
            return None
        url = re.sub(rf"<(?:\w+:)?{name}>", value, url, count=1)
    return url


def _body_from(bundle: Bundle | None, template: dict[str, Any]) -> dict[str, Any]:
    """``template`` with every field that names a record pointing at ``bundle``'s; an
    optional one (None in the template) is left out when the bundle has no such record."""
    body = dict(template)
    for key in list(body):
        kind = BODY_KINDS.get(key)
        value = bundle.id_for(kind) if bundle is not None and kind is not None else None
        if value is not None:
            body[key] = value
        elif body[key] is None:
            del body[key]
    return body


def page_body(bundle: Bundle | None) -> dict[str, Any]:
    """A form body whose fields point at ``bundle``'s records (every name a Haven form uses
    for a record, plus plausible values for the rest; an unknown field is ignored)."""
    return _body_from(bundle, {
        "case": "", "person": "", "shelter": "", "assignee": "", "verifier": "",
        "liaison": "", "application": "", "to": "closed", "field": "legal_name",
        "title": "x", "body": "x", "decision": "approve", "shared_fields": "status",
        "closure_reason": "other", "version": "1", "next": "",
    })


def api_body_template(route: Route) -> dict[str, Any] | None:
    operation = _operation_schema(route)
    body = operation.get("requestBody")
    if body is None:
        return None
    content = body.get("content", {})
    if "application/json" not in content:
        return None  # multipart uploads: sent empty
    schema = _resolve(content["application/json"]["schema"])
    value = sample_value(schema, route.key)
    assert isinstance(value, dict)
    for name in schema.get("properties", {}):
        if name in BODY_KINDS and name not in value:  # optional ids: aimed when there is one
            value[name] = None
    return value


def api_query_params(route: Route, terms: list[str], ids: list[str]) -> list[dict[str, str]]:
    """Query strings for a GET operation: each parameter alone with each search term (text),
    id (uuid) or value (enum, boolean)."""
    variants: list[dict[str, str]] = []
    for param in _operation_schema(route).get("parameters", []):
        if param["in"] != "query":
            continue
        schema = _resolve(param.get("schema", {}))
        for combinator in ("anyOf", "oneOf", "allOf"):
            if combinator in schema:
                schema = _resolve(next((s for s in schema[combinator]
                                        if s.get("type") != "null"), schema[combinator][0]))
        kind = schema.get("type")
        name = param["name"]
        if "enum" in schema:
            variants += [{name: str(v)} for v in schema["enum"][:OPTIONS]]
        elif kind == "boolean":
            variants += [{name: "true"}, {name: "false"}]
        elif kind == "string" and schema.get("format") == "uuid":
            variants += [{name: v} for v in ids]
        elif kind == "string" and not schema.get("format") and name in SEARCH_PARAMS:
            limit = int(schema.get("maxLength", 200))
            variants += [{name: t[:limit]} for t in terms]
        elif kind == "string" and not schema.get("format") and (
                name.endswith("_id") or name in ID_PARAMS):
            variants += [{name: v} for v in ids]
    return variants


# --- the crawl ------------------------------------------------------------------------------------


def _content(response: Any) -> str:
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return (headers + "\n" + body.decode("utf-8", "replace")).lower()


def _echoes(values: Iterable[Any]) -> list[str]:
    """How a value sent in a request can come back as itself (a search box keeps what was
    typed; a link to the next page carries the query): those are not leaks."""
    found: list[str] = []
    for value in values:
        text = str(value)
        if len(text) >= 4:
            found += [v.lower() for v in (text, quote_plus(text), quote(text),
                                          text.replace("+", "&#x2b;"))]
    return sorted(set(found), key=len, reverse=True)


def nobody_like(value: str) -> str:
    """A value of the same shape as ``value`` that names nobody: a search for a hidden
    marker must answer exactly like a search for it."""
    if re.fullmatch(r"HV-\w{4}-\w{4}", value):
        return "HV-ZZZZ-ZZZZ"
    if re.fullmatch(r"[0-9a-f]{8}-[0-9a-f-]{27}", value):
        return str(SAMPLE_UUID)
    if re.fullmatch(r"[+\d][\d ]+", value):
        return "+7 999 999 99 99"
    return "qznobody"


_CSV_LINK = re.compile(r'<a href="([^"]+)" rel="alternate" type="text/csv"')
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def _normalized(response: Any, sent: str) -> str:
    """The body with what differs between two identical answers taken out: the echo of the
    value searched for, and the CSRF token (masked anew in every answer)."""
    text = _CSRF.sub("", _content(response).split("\n", len(response.headers))[-1])
    for echo in _echoes([sent]):
        text = text.replace(echo, "<sent>")
    return text


# Tables whose rows the fingerprint of hidden records reads: a write touching none of them
# cannot have changed a hidden record.
WATCHED_TABLES = ("cases_", "people_", "housing_placement", "pathways_application",
                  "pathways_travel", "pathways_dossier", "intake_request", "intake_message",
                  "keyring_datakey")


@dataclass
class Crawl:
    """One user's crawl. ``forbidden``: strings that must appear in no answer (lowercase) →
    what they are; ``hidden``: the names of the bundles the user may not see, whose records
    must not change; ``fingerprint``: a snapshot of those records."""

    pages: Client
    api: Client
    bundles: list[Bundle]
    hidden: set[str]
    forbidden: dict[str, str]
    fingerprint: Callable[[], Any]
    extras: dict[str, str]
    perms: frozenset[Any]  # what the user's role may do: a route it may not use is tried once
    organization: str  # the user's organization's id
    tally: Tally = field(default_factory=Tally)
    baseline: Any = None
    shut: set[tuple[str, str]] = field(default_factory=set)
    missing: dict[tuple[str, str], int] = field(default_factory=dict)

    # -- checks

    def _check(self, label: str, response: Any, sent: Iterable[Any] = ()) -> None:
        if response.status_code >= 500 and response.status_code != 503:
            self.tally.findings.append(Finding(label, f"{response.status_code} (server error)"))
        text = _content(response)
        path = label.split(" ", 2)[1].split("?", maxsplit=1)[0]  # the URL asked for comes back in links
        for echo in _echoes([*sent, *path.split("/")]):
            text = text.replace(echo, " ")
        leaked = sorted({what for token, what in self.forbidden.items() if token in text})
        if leaked:
            self.tally.findings.append(Finding(label, "shows " + "; ".join(leaked)))

    def _write(self, client: Client, method: str, url: str, label: str, *, form: Any = None,
               body: dict[str, Any] | None = None, hidden_path: bool, aimed: bool) -> Any:
        """One write, in a savepoint that is rolled back, so every write starts from the same
        data. ``aimed``: it names a hidden record (in its path or body); then, if it wrote to
        a table holding such records, the hidden records must be as they were (the
        ``baseline``). ``hidden_path``: the record in its path is hidden, so the answer must
        be a refusal (404 as for a missing record, or 403 for a role without the right)."""
        self.tally.writes += 1
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            if form is not None:
                response = client.post(url, form)
            else:
                response = client.generic(method, url, json.dumps(body) if body is not None
                                          else "", content_type="application/json")
            if aimed and any(_writes_watched(q["sql"]) for q in queries.captured_queries):
                if self.baseline is None:
                    raise AssertionError("the baseline fingerprint is taken before writing")
                if self.fingerprint() != self.baseline:
                    self.tally.findings.append(Finding(
                        label, f"{response.status_code}: changed a record the user may not "
                        "see"))
            transaction.set_rollback(True)
        sent = [*(form or {}).values(), *(body or {}).values()]
        self._check(label, response, sent)
        if hidden_path and response.status_code not in {403, 404, 405}:
            self.tally.findings.append(Finding(label, f"{response.status_code}: a write to a "
                                               "hidden record was not refused as missing"))
        return response

    def _as_missing(self, route: Route, method: str, label: str, response: Any,
                    send: Callable[[str], Any]) -> None:
        """A hidden record must answer like one that does not exist: the same request with
        every record of the path replaced by an id nobody has gets the same status."""
        key = (route.key, method)
        if key not in self.missing:
            url = fill_path(route, _NOBODY, self.extras)
            assert url is not None
            self.missing[key] = send(url).status_code
            self.tally.compared += 1
        if response.status_code != self.missing[key]:
            self.tally.findings.append(Finding(label, f"{response.status_code}, but "
                                               f"{self.missing[key]} for a missing record"))

    def _as_nobody(self, url: str, query: dict[str, str], response: Any,
                   send: Callable[[dict[str, str]], Any], label: str) -> None:
        """A search for a hidden marker must answer exactly like a search for nobody (no
        count, no "more than", no different page)."""
        ((name, value),) = query.items()
        if value.lower() not in self.forbidden:  # the user may know it (an auditor, an id)
            return
        other = send({name: nobody_like(value)})
        self.tally.compared += 1
        if (other.status_code, _normalized(other, nobody_like(value))) != (
                response.status_code, _normalized(response, value)):
            self.tally.findings.append(Finding(label, "answers differently from a search for "
                                               f"nobody ({nobody_like(value)!r})"))

    def _get(self, client: Client, url: str, label: str, query: dict[str, str] | None = None,
             htmx: bool = False) -> Any:
        headers = {"HX-Request": "true"} if htmx else {}
        response = client.get(url, query or {}, headers=headers)
        self._check(label, response, (query or {}).values())
        return response

    # -- pages

    def _shut(self, route: Route, method: str, response: Any) -> bool:
        """Is this route shut to the user whatever record it names — the method is not
        served (405), or the role lacks the permission the route declares (403)? Then one
        request has shown it and the other records need not be tried."""
        access = route.access
        refused_by_role = (response.status_code == 403 and access is not None
                           and access.kind == "perm" and access.perm not in self.perms)
        if response.status_code == 405 or refused_by_role:
            self.shut.add((route.key, method))
        return (route.key, method) in self.shut

    def _hidden_path(self, route: Route, bundle: Bundle | None) -> bool:
        """Does the URL name a record the user may not see? A record of a case or request
        when the bundle is hidden; a shelter (seen by the whole organization) when it is
        another organization's. A colleague's account is the accounts pages' business."""
        if bundle is None or bundle.name not in self.hidden:
            return False
        kinds = {_param_kind(route, n) for n in route_params(route)} - EXTRAS - {"staff"}
        if kinds == {"shelter"}:
            return bundle.organization != self.organization
        return bool(kinds)

    def crawl_pages(self, terms: list[str], ids: list[str]) -> None:
        self.baseline = self.fingerprint()
        for route in all_routes():
            if route.is_api:
                continue
            for bundle, url in self._urls(route):
                hidden = bundle is not None and bundle.name in self.hidden
                where = bundle.name if bundle else "-"
                if (route.key, "GET") not in self.shut:
                    self.tally.pages += 1
                    label = f"GET {url} [{where}]"
                    response = self._get(self.pages, url, label)
                    if self._hidden_path(route, bundle):
                        self._as_missing(route, "GET", label, response, self.pages.get)
                    if response.status_code == 200 and not hidden:
                        self.tally.pages += 1
                        self._get(self.pages, url, f"GET {url} [{where}] (htmx)", htmx=True)
                        if bundle is None:
                            self._search_forms(url, _content(response), terms, ids)
                    self._shut(route, "GET", response)
                if (route.name in NOT_WRITTEN or (route.key, "POST") in self.shut
                        or (not hidden and bundle is not self._first_visible(route))):
                    continue
                self.tally.pages += 1
                label = f"POST {url} [{where}]"
                form = page_body(bundle)
                response = self._write(self.pages, "POST", url, label, form=form,
                                       hidden_path=self._hidden_path(route, bundle),
                                       aimed=hidden)
                if self._hidden_path(route, bundle):
                    self._as_missing(route, "POST", label, response, lambda u, f=form: (
                        self._write(self.pages, "POST", u, f"POST {u}", form=f,
                                    hidden_path=False, aimed=False)))
                self._shut(route, "POST", response)

    def _search_forms(self, url: str, html: str, terms: list[str], ids: list[str]) -> None:
        """The page again with each field of its GET forms filled: a search box with each
        term, an id box with each id, a select with each of its first ``OPTIONS`` values."""
        for form in get_forms(html):
            variants = [{name: t} for name in form.texts if name in SEARCH_PARAMS
                        for t in terms]
            variants += [{name: v} for name in form.texts
                         if name.endswith("_id") or name in ID_PARAMS for v in ids]
            variants += [{name: v} for name, values in form.options.items()
                         for v in values[:OPTIONS]]
            for query in variants:
                self.tally.pages += 1
                label = f"GET {url}?{urlencode(query)}"
                response = self._get(self.pages, url, label, query)
                self._as_nobody(url, query, response, lambda q: self.pages.get(url, q), label)
                self._exports_of(response, query)

    def _exports_of(self, response: Any, query: dict[str, str]) -> None:
        """The CSV exports a filtered list links to (``rel="alternate" type="text/csv"``),
        with the same filter: the file must hold no marker either, and a search for a marker
        must give the same file as a search for nobody."""
        if response.status_code != 200:
            return
        for href in _CSV_LINK.findall(_content(response)):
            export = html.unescape(href).split("?", 1)[0]
            self.tally.pages += 1
            label = f"GET {export}?{urlencode(query)}"
            answer = self._get(self.pages, export, label, query)
            self._as_nobody(export, query, answer, lambda q, e=export: self.pages.get(e, q),
                            label)

    # -- API

    def crawl_api(self, terms: list[str], ids: list[str]) -> None:
        self.baseline = self.fingerprint()
        for route in all_routes():
            if not route.is_api:
                continue
            if route.api_method == "GET":
                self._api_reads(route, terms, ids)
            else:
                self._api_writes(route)

    def _api_reads(self, route: Route, terms: list[str], ids: list[str]) -> None:
        for bundle, url in self._urls(route):
            if (route.key, "GET") in self.shut:
                return
            self.tally.operations += 1
            label = f"GET {url} [{bundle.name if bundle else '-'}]"
            response = self._get(self.api, url, label)
            if self._hidden_path(route, bundle):
                self._as_missing(route, "GET", label, response, self.api.get)
            if bundle is None and response.status_code == 200:
                for query in api_query_params(route, terms, ids):
                    self.tally.operations += 1
                    label = f"GET {url}?{urlencode(query)}"
                    answer = self._get(self.api, url, label, query)
                    self._as_nobody(url, query, answer,
                                    lambda q, u=url: self.api.get(u, q), label)
            self._shut(route, "GET", response)

    def _api_writes(self, route: Route) -> None:
        method = route.api_method
        template = api_body_template(route) if method in METHODS_WITH_BODY else None
        names_records = template is not None and any(k in BODY_KINDS for k in template)
        aimed_through = False
        for bundle, url in self._urls(route):
            hidden = bundle is not None and bundle.name in self.hidden
            if not hidden and bundle is not self._first_visible(route):
                continue  # writes through records of one's own: one is enough
            targets: list[Bundle | None] = [bundle]
            if names_records and not hidden and not aimed_through:
                aimed_through = True  # aimed at markers through a record of one's own
                targets += [b for b in self.bundles if b.name in self.hidden]
            for target in targets:
                if (route.key, method) in self.shut:
                    return
                body = _body_from(target, template) if template is not None else None
                query = _required_query(route, target)
                sent_to = url + (f"?{urlencode(query)}" if query else "")
                self.tally.operations += 1
                label = (f"{method} {sent_to} [{bundle.name if bundle else '-'}"
                         f"→{target.name if target else '-'}]")
                response = self._write(
                    self.api, method, sent_to, label, body=body,
                    hidden_path=self._hidden_path(route, bundle),
                    aimed=hidden or (target is not None and target.name in self.hidden))
                if self._hidden_path(route, bundle) and target is bundle:
                    tail = f"?{urlencode(query)}" if query else ""
                    self._as_missing(route, method, label, response, lambda u, b=body, t=tail: (
                        self._write(self.api, method, u + t, f"{method} {u}{t}", body=b,
                                    hidden_path=False, aimed=False)))
                self._shut(route, method, response)

    # -- helpers

    def _first_visible(self, route: Route) -> Bundle | None:
        """The first bundle the user may see that fills the route (None: it names none)."""
        return next((b for b, _url in self._urls(route)
                     if b is None or b.name not in self.hidden), None)

    def _urls(self, route: Route) -> Iterator[tuple[Bundle | None, str]]:
        """The route's URL once per hidden bundle that has every record it names, and for at
        most ``VISIBLE_PER_ROUTE`` bundles the user may see; once, bare, when it names no
        record (or when no bundle has such a record)."""
        kinds = {_param_kind(route, name) for name in route_params(route)}
        if not kinds - EXTRAS:
            url = fill_path(route, None, self.extras)
            if url is not None:
                yield None, url
            return
        found = False
        visible = 0
        for bundle in self.bundles:
            url = fill_path(route, bundle, self.extras)
            if url is None:
                continue
            if bundle.name not in self.hidden:
                if visible == VISIBLE_PER_ROUTE:
                    continue
                visible += 1
            found = True
            yield bundle, url
        if not found:  # no bundle has such a record: the route is still called
            url = fill_path(route, _NOBODY, self.extras)
            if url is not None:
                yield None, url


def _required_query(route: Route, bundle: Bundle | None) -> dict[str, str]:
    """The required query parameters of a write (an upload says whose file it is in the
    query string, so that it is sealed before it is read): a record of ``bundle`` where the
    parameter names one, else a sample value of its schema."""
    query: dict[str, str] = {}
    for param in _operation_schema(route).get("parameters", []):
        if param["in"] != "query" or not param.get("required"):
            continue
        kind = BODY_KINDS.get(param["name"])
        value = bundle.id_for(kind) if bundle is not None and kind is not None else None
        if value is None:
            value = str(sample_value(_resolve(param.get("schema", {})),
                                     f"{route.key} {param['name']}"))
        query[param["name"]] = value
    return query


def _writes_watched(sql: str) -> bool:
    head = sql.lstrip()[:12].upper()
    if not head.startswith(("INSERT", "UPDATE", "DELETE")):
        return False
    lowered = sql[:200].lower()
    return any(f'"{t}' in lowered or f" {t}" in lowered for t in WATCHED_TABLES)
