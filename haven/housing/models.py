"""Safe houses and who stays in them. An address is as sensitive as an identity: it is sealed
under the shelter's own data key and shown to coordinators only; everyone else knows a shelter
by its code name."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from haven.accounts.models import Organization, User
from haven.cases.models import Case
from haven.core.models import BaseModel
from haven.keyring.fields import EncryptedTextField
from haven.people.models import Person


class ShelterStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPROMISED = "compromised", _("Compromised")
    CLOSED = "closed", _("Closed")


SHELTER_TRANSITIONS: dict[ShelterStatus, tuple[ShelterStatus, ...]] = {
    ShelterStatus.ACTIVE: (ShelterStatus.COMPROMISED, ShelterStatus.CLOSED),
    ShelterStatus.COMPROMISED: (ShelterStatus.CLOSED,),
    ShelterStatus.CLOSED: (ShelterStatus.ACTIVE,),
}


class ShelterQuerySet(models.QuerySet["Shelter"]):
    """Shelters; ``policy.org_scoped(user, Perm.SHELTER_READ, qs)`` decides who sees which."""


class Shelter(BaseModel):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT,
                                     related_name="shelters")
    code_name = models.CharField(_("code name"), max_length=64)
    coarse_place = EncryptedTextField(_("area"))
    address = EncryptedTextField(_("exact address"))
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    status = models.CharField(max_length=16, choices=ShelterStatus.choices,
                              default=ShelterStatus.ACTIVE)

    objects: ClassVar[ShelterQuerySet] = ShelterQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["code_name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code_name"],
                                    name="one_code_name_per_org"),
        ]

    def __str__(self) -> str:
        return self.code_name

    def keyring_owner(self) -> tuple[str, str]:
        return "housing.shelter", str(self.pk)


class PlacementStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")


PLACEMENT_TRANSITIONS: dict[PlacementStatus, tuple[PlacementStatus, ...]] = {
    PlacementStatus.PLANNED: (PlacementStatus.ACTIVE, PlacementStatus.ENDED),
    PlacementStatus.ACTIVE: (PlacementStatus.ENDED,),
    PlacementStatus.ENDED: (),
}
# A planned or active placement holds a bed.
OCCUPYING: tuple[PlacementStatus, ...] = (PlacementStatus.PLANNED, PlacementStatus.ACTIVE)


class EndReason(models.TextChoices):
    MOVED_ON = "moved_on", _("Moved on")
    DEPARTED = "departed", _("Left the country")
    COMPROMISED = "compromised", _("Shelter compromised")
    CANCELLED = "cancelled", _("Cancelled before arrival")
    OTHER = "other", _("Other")


class Placement(BaseModel):
    shelter = models.ForeignKey(Shelter, on_delete=models.PROTECT, related_name="placements")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="placements")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="placements")
    status = models.CharField(max_length=16, choices=PlacementStatus.choices,
                              default=PlacementStatus.PLANNED)
    planned_in = models.DateField(null=True, blank=True)
    moved_in = models.DateField(null=True, blank=True)
    moved_out = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["shelter", "status"]),
                   models.Index(fields=["case", "status"])]

    def __str__(self) -> str:
        return f"placement {self.pk}"
