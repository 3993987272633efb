"""Every permission Haven knows, as ``resource:action``. Sorted; add new ones in order."""

from __future__ import annotations

from enum import StrEnum


class Perm(StrEnum):
    ACCOUNT_MANAGE = "account:manage"
    AUDIT_READ = "audit:read"
    AUDIT_VERIFY = "audit:verify"
    KEYS_ROTATE = "keys:rotate"
    KEYS_SEAL = "keys:seal"
    KEYS_UNSEAL = "keys:unseal"
    PERSON_CREATE = "person:create"
    PERSON_ERASE = "person:erase"
    PERSON_READ = "person:read"
    PERSON_REVEAL = "person:reveal"
    TOKEN_MANAGE = "token:manage"  # noqa: S105 - a permission name, not a secret
