"""Factories for organizations and staff, with a trait per role and one for an enrolled
second factor."""

from __future__ import annotations

from typing import Any

import factory

from haven.access.roles import Role
from haven.accounts.models import Organization, SealedTOTPDevice, User
from haven.keyring import local

PASSWORD = "a long and unusual passphrase"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.CASEWORKER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    class Params:
        enrolled = factory.Trait(
            totp=factory.RelatedFactory(
                "tests.factories.accounts.TOTPDeviceFactory", factory_related_name="user"
            )
        )

    @factory.post_generation
    def saved(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.save()


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    """A confirmed authenticator, its secret sealed as Haven stores it."""

    class Meta:
        model = SealedTOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "authenticator"
    confirmed = True
    key = factory.LazyAttribute(
        lambda o: local.seal_totp_secret(local.new_totp_secret(), user_id=o.user.pk))
