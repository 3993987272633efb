"""Every route Haven serves, found by walking the URL resolver, with sample arguments.

Pages come from Django's resolver; API operations from the ninja ``PathView`` behind each
``/api/v1/`` pattern, so an operation added to any router is found without listing it here.
Anything this module cannot build a sample request for raises ``LookupError`` — a new kind
of route must be taught to the tests, never silently skipped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.urls import URLPattern, URLResolver, converters, get_resolver
from ninja.operation import PathView

from haven.access.decorators import Access, access_of
from haven.api import api

SAMPLE_UUID = uuid.UUID("00000000-0000-4000-8000-00000000abcd")


@dataclass(frozen=True)
class Route:
    """One page route (any method) or one API operation (one method)."""

    route: str  # Django's route string, e.g. "accounts/users/<uuid:user_id>/<slug:action>/"
    name: str  # "namespace:name"
    view: Any = field(compare=False, repr=False)
    api_method: str = ""  # set for API operations: "GET", "POST", ...
    converters: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.api_method} /{self.route}" if self.api_method else f"/{self.route}"

    @property
    def is_api(self) -> bool:
        return bool(self.api_method)

    @property
    def access(self) -> Access | None:
        return access_of(self.view)

    def path(self) -> str:
        """A concrete URL with sample values for every parameter."""
        if self.is_api:
            return _api_path(self)
        url = "/" + self.route
        for name, conv in self.converters.items():
            url = _replace_param(url, name, _sample_for_converter(self, conv))
        return url


def _replace_param(url: str, name: str, value: str) -> str:
    start = url.find("<")
    while start != -1:
        end = url.index(">", start)
        inner = url[start + 1 : end]
        if inner.split(":")[-1] == name:
            return url[:start] + value + url[end + 1 :]
        start = url.find("<", end)
    raise LookupError(f"parameter {name!r} not found in {url!r}")


def _sample_for_converter(route: Route, conv: Any) -> str:
    if isinstance(conv, converters.UUIDConverter):
        return str(SAMPLE_UUID)
    if isinstance(conv, converters.IntConverter):
        return "1"
    if isinstance(conv, converters.SlugConverter):
        return "sample-slug"
    if isinstance(conv, converters.PathConverter):
        return "sample/path"
    if isinstance(conv, converters.StringConverter):
        return "sample"
    raise LookupError(
        f"route {route.key} uses converter {type(conv).__name__}: teach tests/access/routes.py "
        "to make a sample value for it"
    )


def _path_view(pattern: URLPattern) -> PathView | None:
    for cell in getattr(pattern.callback, "__closure__", None) or ():
        if isinstance(cell.cell_contents, PathView):
            return cell.cell_contents
    return None


def _walk(resolver: URLResolver, prefix: str, namespace: str) -> list[Route]:
    found: list[Route] = []
    for item in resolver.url_patterns:
        if isinstance(item, URLResolver):
            ns = item.namespace or namespace
            found += _walk(item, prefix + str(item.pattern), ns)
            continue
        route = prefix + str(item.pattern)
        name = f"{namespace}:{item.name}" if namespace else str(item.name)
        convs = dict(getattr(item.pattern, "converters", {}))
        path_view = _path_view(item)
        if path_view is None:
            found.append(Route(route=route, name=name, view=item.callback, converters=convs))
            continue
        for op in path_view.operations:
            for method in op.methods:
                found.append(Route(route=route, name=name, view=op.view_func,
                                   api_method=method.upper(), converters=convs))
    return found


@cache
def all_routes() -> tuple[Route, ...]:
    """Every page route and every API operation, each once."""
    seen: dict[str, Route] = {}
    for r in _walk(get_resolver(), "", ""):
        seen.setdefault(r.key, r)  # ninja emits one pattern per operation on a shared path
    return tuple(sorted(seen.values(), key=lambda r: r.key))


def page_routes() -> list[Route]:
    return [r for r in all_routes() if not r.is_api]


def api_routes() -> list[Route]:
    return [r for r in all_routes() if r.is_api]


# --- API samples from the OpenAPI document ---------------------------------------------------


@cache
def _openapi() -> dict[str, Any]:
    schema: dict[str, Any] = api.get_openapi_schema()
    return schema


def _operation_schema(route: Route) -> dict[str, Any]:
    path = "/" + route.route
    for name in route.converters:
        path = path.replace(f"<{name}>", "{" + name + "}")
    try:
        op: dict[str, Any] = _openapi()["paths"][path][route.api_method.lower()]
    except KeyError:
        raise LookupError(f"{route.key} is not in the OpenAPI document as {path}") from None
    return op


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = _openapi()["components"]["schemas"][name]
    return schema


def sample_value(schema: dict[str, Any], where: str) -> Any:  # noqa: PLR0912 - one branch per JSON-schema type
    """A value that satisfies ``schema`` (strings at their minimum length, ids as UUIDs)."""
    schema = _resolve(schema)
    for combinator in ("allOf", "anyOf", "oneOf"):
        if combinator in schema:
            return sample_value(schema[combinator][0], where)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        fmt = schema.get("format", "")
        if fmt == "uuid":
            return str(SAMPLE_UUID)
        if fmt == "date":
            return "2024-01-31"
        if fmt == "date-time":
            return "2024-01-31T12:00:00Z"
        if fmt:
            raise LookupError(f"{where}: no sample for string format {fmt!r}")
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        props = schema.get("properties", {})
        return {k: sample_value(props[k], f"{where}.{k}") for k in schema.get("required", [])}
    raise LookupError(f"{where}: cannot make a sample for schema {schema!r}")


def _api_path(route: Route) -> str:
    op = _operation_schema(route)
    url = "/" + route.route
    query: list[str] = []
    for param in op.get("parameters", []):
        where = f"{route.key} parameter {param['name']}"
        if param["in"] == "path":
            url = url.replace(f"<{param['name']}>", str(sample_value(param["schema"], where)))
        elif param["in"] == "query" and param.get("required"):
            query.append(f"{param['name']}={sample_value(param['schema'], where)}")
        elif param["in"] not in {"query", "path"}:
            raise LookupError(f"{where}: parameters in {param['in']!r} are not supported")
    if "<" in url:
        raise LookupError(f"{route.key}: path parameter without an OpenAPI description")
    return url + ("?" + "&".join(query) if query else "")


def api_body(route: Route) -> dict[str, Any] | None:
    """A schema-valid JSON body for the operation, or None when it takes none."""
    body = _operation_schema(route).get("requestBody")
    if body is None:
        return None
    content = body.get("content", {})
    if "application/json" not in content:
        raise LookupError(f"{route.key}: only JSON bodies are supported, got {list(content)}")
    value = sample_value(content["application/json"]["schema"], f"{route.key} body")
    assert isinstance(value, dict)
    return value
