"""The base every Haven record stands on."""

from __future__ import annotations

import uuid

from django.db import models


class BaseModel(models.Model):
    """A record with a random id (never derived from content) and creation/update times.

    Random ids keep record numbers from leaking order or volume, and make ids in the audit
    log meaningless to someone who holds only the log.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
