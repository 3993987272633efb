"""A database session store that keeps only a hash of each session key (``SESSION_ENGINE``).

The cookie carries the session key; the table holds ``secret_digest(key)``. Someone who copies
the database finds no value to put in a cookie. Everything else is Django's database store:
the same expiry, the same signed and serialised data, the same ``cycle_key``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from haven.accounts.models import StoredSession
from haven.keyring.local import secret_digest


def key_hash(session_key: str) -> str:
    """What the session table and ``UserSession`` store for a cookie value."""
    return secret_digest(session_key)


def _model() -> type[StoredSession]:
    return StoredSession


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls) -> Any:
        return _model()

    def _get_session_from_db(self) -> Any:
        try:
            found = _model().objects.filter(key_hash=key_hash(self.session_key or ""),
                                              expire_date__gt=timezone.now()).first()
        except SuspiciousOperation as exc:
            logging.getLogger(f"django.security.{type(exc).__name__}").warning(str(exc))
            found = None
        if found is None or self.session_key is None:
            self._session_key = None
            return None
        return found

    async def _aget_session_from_db(self) -> Any:
        found = await _model().objects.filter(key_hash=key_hash(self.session_key or ""),
                                                expire_date__gt=timezone.now()).afirst()
        if found is None or self.session_key is None:
            self._session_key = None
            return None
        return found

    def exists(self, session_key: str | None) -> bool:
        return bool(session_key) and _model().objects.filter(
            key_hash=key_hash(session_key or "")).exists()

    async def aexists(self, session_key: str | None) -> bool:
        return bool(session_key) and await _model().objects.filter(
            key_hash=key_hash(session_key or "")).aexists()

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        key: str = self._get_or_create_session_key()  # type: ignore[attr-defined]  # not in stubs
        return _model()(key_hash=key_hash(key), session_data=self.encode(data),
                        expire_date=self.get_expiry_date())

    async def acreate_model_instance(self, data: dict[str, Any]) -> Any:
        key: str = await self._aget_or_create_session_key()  # type: ignore[attr-defined]  # not in stubs
        return _model()(key_hash=key_hash(key), session_data=self.encode(data),
                        expire_date=await self.aget_expiry_date())

    def delete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        if session_key:
            _model().objects.filter(key_hash=key_hash(session_key)).delete()

    async def adelete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        if session_key:
            await _model().objects.filter(key_hash=key_hash(session_key)).adelete()
