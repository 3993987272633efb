"""A read-only view of a record through an allow-list of attribute names: how pages and API
schemas show the records of partial views (the allow-lists are access.policy's)."""

from __future__ import annotations

from typing import Any


class Projection:
    """A read-only view of ``obj`` through an allow-list of attribute names.

    An allowed name reads through, and so do its forms ``<name>_id`` (a foreign key's id),
    ``get_<name>_display`` and, for ``id``, ``pk``; any other name reads as None. Pages and
    API schemas read the records of partial views through it, so a field that nobody listed
    cannot be shown by mistake — a template that forgets a condition shows a blank.
    """

    __slots__ = ("_fields", "_obj")

    def __init__(self, obj: Any, fields: frozenset[str]) -> None:
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_fields", fields)

    def allows(self, name: str) -> bool:
        fields = self._fields
        if name in fields or (name == "pk" and "id" in fields):
            return True
        if name.endswith("_id") and name[:-3] in fields:
            return True
        return name.startswith("get_") and name.endswith("_display") and name[4:-8] in fields

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or not self.allows(name):
            return None
        return getattr(self._obj, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a projection is read-only")

    def __eq__(self, other: object) -> bool:
        """Equal to the record it shows (and to any projection of it): which record it is
        is not withheld, only its fields."""
        if isinstance(other, Projection):
            other = other._obj
        return bool(self._obj == other)

    def __hash__(self) -> int:
        return hash(self._obj)

    def __repr__(self) -> str:
        # The record's own repr may hold a withheld field (a case's is its number).
        return (f"<projection of {type(self._obj).__name__} {getattr(self._obj, 'pk', '?')}: "
                f"{sorted(self._fields)}>")
