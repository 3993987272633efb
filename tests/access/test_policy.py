from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from hypothesis import given, settings
from hypothesis import strategies as st

from haven.access import policy
from haven.access.permissions import Perm
from haven.access.roles import Role
from haven.accounts.models import Organization, User
from haven.core.errors import Forbidden, NotFound

ORG_A, ORG_B = "org-a", "org-b"


def actor(role: str, *, org: str = ORG_A, active: bool = True, authenticated: bool = True) -> Any:
    return SimpleNamespace(role=role, organization_id=org, is_active=active,
                           is_authenticated=authenticated, pk="u1")


def record(org: str | None) -> Any:
    return SimpleNamespace(organization_id=org)


roles = st.sampled_from(list(Role))
perms = st.sampled_from(list(Perm))


def test_permissions_are_sorted_and_named_resource_colon_action() -> None:
    values = [p.value for p in Perm]
    assert values == sorted(values)
    assert all(v.count(":") == 1 and v == v.lower() for v in values)


def test_every_role_has_a_row_in_the_table() -> None:
    assert set(policy.ROLE_PERMISSIONS) == set(Role)


def test_design_rules_hold_in_the_table() -> None:
    table = policy.ROLE_PERMISSIONS
    assert {Perm.ACCOUNT_MANAGE, Perm.TOKEN_MANAGE, Perm.AUDIT_READ, Perm.KEYS_SEAL,
            Perm.KEYS_UNSEAL} <= table[Role.COORDINATOR]
    assert not any(p.value.startswith("person:") for p in table[Role.AUDITOR])  # no personal data
    assert Perm.AUDIT_READ in table[Role.AUDITOR]
    for role in Role:
        if role is not Role.COORDINATOR:
            assert not {Perm.ACCOUNT_MANAGE, Perm.KEYS_UNSEAL, Perm.TOKEN_MANAGE} & table[role]


@settings(deadline=None)  # the host may be busy; correctness, not speed, is tested
@given(role=roles, perm=perms)
def test_has_perm_follows_the_table(role: Role, perm: Perm) -> None:
    assert policy.has_perm(actor(role), perm) == (perm in policy.ROLE_PERMISSIONS[role])


@settings(deadline=None)  # the host may be busy; correctness, not speed, is tested
@given(role=roles, perm=perms, same=st.booleans())
def test_objects_of_another_organization_are_out_of_reach(role: Role, perm: Perm, same: bool) -> None:
    obj = record(ORG_A if same else ORG_B)
    granted = perm in policy.ROLE_PERMISSIONS[role]
    assert policy.has_perm(actor(role), perm, obj) == (granted and same)


@settings(deadline=None)  # the host may be busy; correctness, not speed, is tested
@given(role=roles, perm=perms)
def test_object_without_organization_is_refused(role: Role, perm: Perm) -> None:
    assert not policy.has_perm(actor(role), perm, record(None))


@settings(deadline=None)  # the host may be busy; correctness, not speed, is tested
@given(role=roles, perm=perms, active=st.booleans(), authenticated=st.booleans())
def test_anonymous_and_disabled_users_get_nothing(
    role: Role, perm: Perm, active: bool, authenticated: bool
) -> None:
    user = actor(role, active=active, authenticated=authenticated)
    if active and authenticated:
        return
    assert policy.role_perms(user) == frozenset()
    assert not policy.has_perm(user, perm)
    with pytest.raises(Forbidden):
        policy.require(user, perm)


@settings(deadline=None)  # the host may be busy; correctness, not speed, is tested
@given(perm=perms)
def test_unknown_roles_and_none_get_nothing(perm: Perm) -> None:
    for user in (None, AnonymousUser(), actor("superuser"), SimpleNamespace(is_authenticated=True, is_active=True)):
        assert not policy.has_perm(user, perm)


@settings(deadline=None)  # the host may be busy; correctness, not speed, is tested
@given(role=roles, perm=perms, same=st.booleans())
def test_require_says_missing_for_a_foreign_object_and_forbidden_for_a_missing_right(
    role: Role, perm: Perm, same: bool
) -> None:
    obj = record(ORG_A if same else ORG_B)
    granted = perm in policy.ROLE_PERMISSIONS[role]
    if granted and same:
        policy.require(actor(role), perm, obj)
    elif granted:
        with pytest.raises(NotFound):
            policy.require(actor(role), perm, obj)
    else:
        with pytest.raises(Forbidden):
            policy.require(actor(role), perm, obj)


def test_an_organization_is_its_own_organization(coordinator: User, org: Organization,
                                                  other_org: Organization) -> None:
    assert policy.has_perm(coordinator, Perm.ACCOUNT_MANAGE, org)
    assert not policy.has_perm(coordinator, Perm.ACCOUNT_MANAGE, other_org)


def test_users_visible_to(coordinator: User, caseworker: User, outsider: User) -> None:
    qs = User.objects.all()
    assert set(policy.users_visible_to(coordinator, qs)) == {coordinator, caseworker}
    assert list(policy.users_visible_to(caseworker, qs)) == [caseworker]
    assert list(policy.users_visible_to(AnonymousUser(), qs)) == []  # type: ignore[arg-type]
    User.objects.filter(pk=caseworker.pk).update(is_active=False)
    caseworker.refresh_from_db()
    assert list(policy.users_visible_to(caseworker, qs)) == []


def test_org_scoped(coordinator: User, caseworker: User, auditor: User) -> None:
    qs = User.objects.all()
    assert set(policy.org_scoped(coordinator, Perm.ACCOUNT_MANAGE, qs)) == {coordinator, caseworker, auditor}
    assert list(policy.org_scoped(caseworker, Perm.ACCOUNT_MANAGE, qs)) == []


# --- object rules and filters for what holds personal data (issue 13) ----------------------------


@pytest.fixture
def households(*, coordinator: User, caseworker: User, other_caseworker: User,
               operator: User, verifier: User, liaison: User, outsider: User,
               settings: Any) -> dict[str, Any]:
    """Cases of the caseworker (opened by the operator, sent to the verifier, referred to the
    liaison), of another caseworker, a suspended one of the caseworker, a person in no case,
    and another organization's case."""
    from haven.cases import services as cases
    from haven.cases.models import SharedField, Status
    from haven.people import services as people

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    def opened(by: User, assignee: User | None, name: str) -> Any:
        case = cases.case_open(actor=by, legal_name=name)
        if assignee is not None:
            cases.case_assign(actor=coordinator, case=case, assignee=assignee)
        return case

    mine = opened(operator, caseworker, "Аслан")
    cases.verification_request(actor=coordinator, case=mine, verifier=verifier)
    cases.referral_create(actor=coordinator, case=mine, liaison=liaison,
                          shared_fields=[SharedField.STATUS])
    theirs = opened(coordinator, other_caseworker, "Рустам")
    suspended = opened(operator, caseworker, "Зелимхан")
    cases.case_transition(actor=coordinator, case=suspended, to=Status.SUSPENDED)
    foreign = opened(outsider, None, "Ахмед")
    loose = people.person_create(actor=coordinator, legal_name="Ибрагим")
    return {"mine": mine, "theirs": theirs, "suspended": suspended, "foreign": foreign,
            "loose": loose}


def _principal(case: Any) -> Any:
    return case.members.get(is_principal=True).person


def test_a_person_is_visible_exactly_when_one_of_their_cases_is(
        households: dict[str, Any], *, coordinator: User, caseworker: User,
        other_caseworker: User, operator: User, verifier: User, liaison: User,
        auditor: User, outsider: User) -> None:
    from haven.people.models import Person

    people = {name: _principal(case) for name, case in households.items() if name != "loose"}
    people["loose"] = households["loose"]
    expected = {
        coordinator: {"mine", "theirs", "suspended", "loose"},
        caseworker: {"mine"}, other_caseworker: {"theirs"}, operator: {"mine"},
        verifier: {"mine"}, liaison: set(), auditor: set(), outsider: {"foreign"},
    }
    for user, names in expected.items():
        visible = set(policy.people_visible_to(user, Person.objects.all()))
        assert visible == {people[n] for n in names}, user.username
        for name, person in people.items():  # the rule and the filter agree
            assert policy.has_perm(user, Perm.PERSON_READ, person) == (name in names), (
                user.username, name)


def test_files_profiles_and_memberships_follow_the_person_and_the_case(
        households: dict[str, Any], *, coordinator: User, caseworker: User,
        other_caseworker: User, liaison: User) -> None:
    import uuid

    from haven.cases import services as cases
    from haven.cases.models import Member, PersonProfile
    from haven.keyring import files
    from haven.people import services as people
    from haven.people.models import PersonFile

    mine, theirs = households["mine"], households["theirs"]
    for case in (mine, theirs):
        person = _principal(case)
        cases.profile_update(actor=coordinator, case=case, person=person, story="x")
        people.person_file_attach(actor=coordinator, person=person, upload=files.EncryptedUpload(
            file_id=uuid.uuid4(), name="scan.pdf", content_type="application/pdf", size=1))
    only_mine = {_principal(mine)}
    assert {f.person for f in policy.person_files_visible_to(
        caseworker, PersonFile.objects.all())} == only_mine
    assert {p.person for p in policy.profiles_visible_to(
        caseworker, PersonProfile.objects.all())} == only_mine
    assert {m.case for m in policy.members_visible_to(caseworker, Member.objects.all())} == {
        mine}
    assert not policy.members_visible_to(liaison, Member.objects.all()).exists()
    assert policy.members_visible_to(coordinator, Member.objects.all()).count() == 3
    theirs_file = PersonFile.objects.get(person=_principal(theirs))
    assert policy.has_perm(other_caseworker, Perm.PERSON_REVEAL, theirs_file)
    assert not policy.has_perm(caseworker, Perm.PERSON_REVEAL, theirs_file)
    member = Member.objects.get(case=theirs)
    assert not policy.has_perm(caseworker, Perm.CASE_READ, member)
    assert not policy.has_perm(liaison, Perm.CASE_READ, Member.objects.get(case=mine))
    assert policy.has_perm(caseworker, Perm.CASE_UPDATE, Member.objects.get(case=mine))
    assert not policy.has_perm(caseworker, Perm.PERSON_READ,
                               PersonProfile.objects.get(person=_principal(theirs)))
    # An operator attaches no file: uploading documents is not an operator's work.
    assert not policy.has_perm(caseworker, Perm.DOCUMENT_UPLOAD, _principal(theirs))
    assert policy.has_perm(caseworker, Perm.DOCUMENT_UPLOAD, _principal(mine))


def test_referrals_and_placements(households: dict[str, Any], *, coordinator: User,
                                  caseworker: User, operator: User, liaison: User,
                                  auditor: User, outsider: User) -> None:
    from haven.cases.models import Referral
    from haven.housing import services as housing
    from haven.housing.models import Placement

    referral = Referral.objects.get()
    assert list(policy.referrals_visible_to(liaison, Referral.objects.all())) == [referral]
    assert list(policy.referrals_visible_to(coordinator, Referral.objects.all())) == [referral]
    assert not policy.referrals_visible_to(caseworker, Referral.objects.all()).exists()
    assert not policy.referrals_visible_to(auditor, Referral.objects.all()).exists()
    assert policy.has_perm(liaison, Perm.CASE_READ, referral)
    assert not policy.has_perm(caseworker, Perm.CASE_READ, referral)
    Referral.objects.update(active=False)
    referral.refresh_from_db()
    assert not policy.has_perm(liaison, Perm.CASE_READ, referral)
    assert not policy.referrals_visible_to(liaison, Referral.objects.all()).exists()

    shelter = housing.shelter_create(actor=coordinator, code_name="Oak", address="x",
                                     capacity=5)
    mine = households["mine"]
    placement = housing.placement_create(actor=coordinator, case=mine,
                                         person=_principal(mine), shelter=shelter)
    assert list(policy.placements_visible_to(caseworker, Placement.objects.all())) == [placement]
    assert list(policy.placements_visible_to(coordinator, Placement.objects.all())) == [
        placement]
    assert not policy.placements_visible_to(operator, Placement.objects.all()).exists()
    assert not policy.placements_visible_to(outsider, Placement.objects.all()).exists()
    assert policy.has_perm(caseworker, Perm.PLACEMENT_MANAGE, placement)
    assert not policy.has_perm(operator, Perm.CASE_READ, placement)


def test_requests_go_to_the_whole_hotline_of_their_organization(
        *, coordinator: User, operator: User, caseworker: User, outsider: User,
        unsealed: list[str], org: Organization) -> None:
    from haven.intake import services as intake
    from haven.intake.models import Message, Request

    key = intake.intake_key_create(actor=None, organization=org)
    submitted = intake.request_submit(intake_key=key, contact="c", region="r", story="s",
                                      urgency="now", language="en")
    intake.request_reply(actor=operator, request=submitted.request, body="hello")
    request = Request.objects.get()
    message = Message.objects.get()
    for user, sees in ((operator, True), (coordinator, True), (caseworker, False),
                       (outsider, False)):
        assert policy.requests_visible_to(user, Request.objects.all()).exists() == sees
        assert policy.messages_visible_to(user, Message.objects.all()).exists() == sees
        assert policy.has_perm(user, Perm.REQUEST_READ, request) == sees
        assert policy.has_perm(user, Perm.REQUEST_READ, message) == sees


def test_outcome_rows_naming_cases_go_only_to_those_who_see_the_cases(
        households: dict[str, Any], *, coordinator: User, caseworker: User,
        auditor: User) -> None:
    from haven.pathways import services as pathways
    from haven.pathways.models import Application, Pathway, PathwayStatus

    pathway = Pathway.objects.exclude(status=PathwayStatus.CLOSED).first()
    assert pathway is not None
    for name in ("mine", "theirs"):
        pathways.application_create(actor=coordinator, case=households[name], pathway=pathway)
    everything = Application.objects.all()
    assert policy.outcomes_stuck_visible_to(coordinator, everything).count() == 2
    assert not policy.outcomes_stuck_visible_to(auditor, everything).exists()
    assert not policy.outcomes_stuck_visible_to(caseworker, everything).exists()  # no outcomes


# --- projections -----------------------------------------------------------------------------------


def test_each_role_has_its_view_of_a_case(*, coordinator: User, caseworker: User,
                                          operator: User, verifier: User, liaison: User,
                                          auditor: User) -> None:
    views = {u.username: policy.case_view_of(u)
             for u in (coordinator, caseworker, operator, verifier, liaison, auditor)}
    assert views == {"coordinator": policy.CaseView.FULL, "caseworker": policy.CaseView.FULL,
                     "operator": policy.CaseView.OPENER, "verifier": policy.CaseView.FULL,
                     "liaison": policy.CaseView.REFERRAL, "auditor": policy.CaseView.NONE}
    assert policy.case_view_of(None) == policy.CaseView.NONE


def test_projections_are_allow_lists() -> None:
    full, opener = policy.CASE_FIELDS[policy.CaseView.FULL], policy.CASE_FIELDS[
        policy.CaseView.OPENER]
    assert opener < full
    assert not {"risk_level", "triage_score", "verification_outcome", "next_review",
                "summary"} & opener
    assert policy.CASE_FIELDS[policy.CaseView.REFERRAL] == {"id", "number"}
    assert policy.CASE_FIELDS[policy.CaseView.NONE] == frozenset()
    assert "confidential" not in policy.MEMBER_FIELDS[policy.CaseView.OPENER]
    assert "outcome" not in policy.VERIFICATION_FIELDS[policy.CaseView.OPENER]


class _Record(SimpleNamespace):
    def __hash__(self) -> int:
        return hash(self.id)


def test_a_projection_shows_only_what_it_lists() -> None:
    record = _Record(id="c1", pk="c1", number="HV-1", status="active", risk_level="high",
                             assigned_to_id="u1", assigned_to="someone",
                             get_status_display=lambda: "Active",
                             get_risk_level_display=lambda: "High")
    shown = policy.project(record, frozenset({"id", "number", "status", "assigned_to"}))
    assert (shown.pk, shown.id, shown.number, shown.status) == ("c1", "c1", "HV-1", "active")
    assert shown.get_status_display() == "Active"
    assert shown.assigned_to_id == "u1"
    assert shown.risk_level is None
    assert shown.get_risk_level_display is None
    assert shown.__dict__ is None  # nothing reaches the record around the list
    assert shown == policy.project(record, frozenset()) == record
    assert "HV-1" not in repr(shown)
    assert {shown} == {policy.project(record, frozenset({"id"}))}  # hashable by the record
    with pytest.raises(AttributeError):
        shown.status = "closed"


def test_a_partner_sees_the_shared_case_fields(liaison: User, caseworker: User) -> None:
    fields = policy.case_fields(liaison, shared=["status", "household_size"])
    assert fields == {"id", "number", "status"}
    assert policy.case_fields(caseworker, shared=["status"]) == policy.CASE_FIELDS[
        policy.CaseView.FULL]
    assert policy.case_filterable(liaison) == {"id", "number"}
    assert policy.referral_shared_fields(caseworker, []) == {}


def test_an_area_rule_is_asked_for_its_model_and_a_second_rule_is_refused() -> None:
    label = "testarea.Thing"
    asked: list[Any] = []

    def rule(user: Any, perm: Perm, obj: Any) -> bool:
        asked.append(obj)
        return bool(obj.allowed)

    thing = SimpleNamespace(organization_id=ORG_A, _meta=SimpleNamespace(label=label))
    policy.register_object_rule(label, rule)
    try:
        policy.register_object_rule(label, rule)  # the same rule again: harmless
        with pytest.raises(ValueError, match="already has an object rule"):
            policy.register_object_rule(label, lambda user, perm, obj: True)
        with pytest.raises(ValueError, match="already has an object rule"):
            policy.register_object_rule("cases.Case", rule)
        thing.allowed = False
        assert not policy.has_perm(actor(Role.COORDINATOR), Perm.CASE_READ, thing)
        thing.allowed = True
        assert policy.has_perm(actor(Role.COORDINATOR), Perm.CASE_READ, thing)
        assert asked == [thing, thing]
    finally:
        policy._AREA_RULES.pop(label)
