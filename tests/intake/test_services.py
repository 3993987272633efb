from __future__ import annotations

import base64
import contextlib
import itertools
import json
import secrets
import shutil
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from haven.audit.models import AuditEvent
from haven.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from haven.intake import selectors, services
from haven.intake.models import TRANSITIONS, IntakeKey, Message, Request, Status
from haven.keyring import intake_crypto
from tests.intake.conftest import SUBMISSION, reload, submit

pytestmark = pytest.mark.django_db

MARKERS = ("Zarema-Marker-Contact-7731", "Gudermes-Marker-Region-5512",
           "Ахмед-маркер-история-9981", "Reply-Marker-Operator-4420", "Answer-Marker-Person-8190")


def _variants(marker: str) -> list[bytes]:
    out = []
    for text in {marker, marker.upper(), marker.lower()}:
        for enc in ("utf-8", "utf-16-le", "utf-16-be"):
            raw = text.encode(enc)
            out += [raw, base64.b64encode(raw), raw.hex().encode(), raw.hex().upper().encode()]
    return out


def _db_bytes(skip: tuple[str, ...] = ()) -> bytes:
    """Every value of every table (but those whose name starts with one of ``skip``), as the
    database holds it."""
    chunks: list[bytes] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table.startswith(skip) and skip:
                continue
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        chunks.append(bytes(value))
                    elif value is not None:
                        chunks.append(str(value).encode("utf-8", "surrogatepass"))
    return b"\n".join(chunks)


def test_nothing_plaintext_in_database_after_submission_and_messages(
        intake_key: IntakeKey, operator: Any) -> None:
    done = submit(intake_key, contact=MARKERS[0], region=MARKERS[1], story=MARKERS[2])
    services.request_reply(actor=operator, request=done.request, body=MARKERS[3])
    services.requester_message_send(request=done.request, body=MARKERS[4])
    dump = _db_bytes()
    for marker in MARKERS:
        for variant in _variants(marker):
            assert variant not in dump, marker
    # The codename's words are common English ("confirm"): the reference data's prose (the
    # pathways' descriptions, loaded by a migration) may hold them by chance.
    own = _db_bytes(skip=("pathways_",))
    for word in done.codename.split(" "):
        assert f" {word} ".encode() not in own
    assert done.codename.encode() not in dump


def test_submission_is_sealed_padded_and_audited(intake_key: IntakeKey, operator: Any) -> None:
    done = submit(intake_key)
    req = reload(done.request)
    assert req.status == Status.NEW
    assert len(bytes(req.payload)) == 1024 + intake_crypto.SEAL_OVERHEAD
    event = AuditEvent.objects.get(action="request.received")
    assert event.object_id == str(req.pk)
    assert event.actor_id == ""
    assert event.data == {"urgency": "now"}
    opened = selectors.request_open(actor=operator, request=req)
    assert opened.payload.story.startswith("They came")
    assert AuditEvent.objects.filter(action="request.read", object_id=str(req.pk)).exists()


def test_longer_story_uses_a_larger_class(intake_key: IntakeKey) -> None:
    done = submit(intake_key, story="ж" * 3000)
    assert len(bytes(done.request.payload)) == 16384 + intake_crypto.SEAL_OVERHEAD


def test_submission_works_while_sealed(sealed_intake: list[str], intake_key: IntakeKey,
                                       operator: Any) -> None:
    from haven.core.errors import Sealed
    from haven.keyring import services as keyring_services

    done = submit(intake_key)
    assert Request.objects.filter(pk=done.request.pk).exists()
    with pytest.raises(Sealed):
        selectors.request_open(actor=operator, request=reload(done.request))
    keyring_services.unseal_submit_share(actor=None, share=sealed_intake[0])
    keyring_services.unseal_submit_share(actor=None, share=sealed_intake[1])
    assert selectors.request_open(actor=operator, request=reload(done.request)).payload.region


def test_codename_login_and_reply_readable_only_with_codename(
        submitted: services.Submitted, intake_key: IntakeKey, operator: Any) -> None:
    services.request_reply(actor=operator, request=submitted.request, body="We read you.")
    req, key = services.requester_login(intake_key=intake_key,
                                        codename=submitted.codename.upper())
    assert req.pk == submitted.request.pk
    entries = selectors.conversation_for_requester(request=req, reply_key=key)
    assert [e.body for e in entries] == ["We read you."]
    message = Message.objects.get(request=req)
    # The organization's key cannot open the person's copy, and vice versa.
    with pytest.raises(intake_crypto.IntakeDecryptionFailed):
        intake_crypto.open_sealed(intake_crypto.org_private_key(intake_key),
                                  bytes(message.for_requester))


@pytest.mark.parametrize("guess", ["", "a", "abacus " * 7, "x" * 2000, "\x00" * 20])
def test_wrong_codename_learns_nothing(submitted: services.Submitted, intake_key: IntakeKey,
                                       guess: str) -> None:
    with pytest.raises(services.WrongCodename) as exc:
        services.requester_login(intake_key=intake_key, codename=guess)
    assert exc.value.message == str(services.WRONG_CODENAME)
    assert exc.value.status == 404


def test_new_codenames_are_hashed_at_the_current_cost_which_is_stored(
        intake_key: IntakeKey, settings: Any) -> None:
    settings.HAVEN_INTAKE_KDF_LOG2_N = 11
    done = submit(intake_key)
    req = reload(done.request)
    assert req.kdf_log2_n == 11
    expected = intake_crypto.codename_keys(done.codename, services.kdf_params(intake_key, 11))
    assert bytes(req.lookup_tag) == expected.lookup_tag
    assert bytes(req.reply_public_key) == expected.reply_public_key


def test_a_codename_hashed_at_an_older_cost_still_opens_its_request(
        intake_key: IntakeKey, operator: Any, settings: Any) -> None:
    settings.HAVEN_INTAKE_KDF_LOG2_N = 11
    old = submit(intake_key)
    services.request_reply(actor=operator, request=old.request, body="Still here.")
    settings.HAVEN_INTAKE_KDF_LOG2_N = 10
    new = submit(intake_key)
    assert reload(new.request).kdf_log2_n == 10
    assert services.codename_costs(intake_key) == [10, 11]
    req, key = services.requester_login(intake_key=intake_key, codename=old.codename)
    assert req.pk == old.request.pk
    assert [e.body for e in selectors.conversation_for_requester(request=req, reply_key=key)] \
        == ["Still here."]
    assert services.requester_login(intake_key=intake_key,
                                    codename=new.codename)[0].pk == new.request.pk


def test_every_log_in_attempt_runs_the_same_hashes_right_or_wrong(
        intake_key: IntakeKey, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.HAVEN_INTAKE_KDF_LOG2_N = 11
    old = submit(intake_key)
    settings.HAVEN_INTAKE_KDF_LOG2_N = 10
    new = submit(intake_key)
    real = intake_crypto.codename_keys
    costs: list[int] = []

    def counting(codename: str, params: intake_crypto.KdfParams) -> intake_crypto.CodenameKeys:
        costs.append(params.log2_n)
        return real(codename, params)

    monkeypatch.setattr(intake_crypto, "codename_keys", counting)
    runs = []
    for guess in (old.codename, new.codename, "abacus " * 7):
        costs.clear()
        with contextlib.suppress(services.WrongCodename):
            services.requester_login(intake_key=intake_key, codename=guess)
        runs.append(list(costs))
    assert runs == [[10, 11]] * 3


def test_a_tag_found_at_another_cost_than_its_own_opens_nothing(
        intake_key: IntakeKey, settings: Any) -> None:
    done = submit(intake_key)
    Request.objects.filter(pk=done.request.pk).update(kdf_log2_n=11)
    with pytest.raises(services.WrongCodename):
        services.requester_login(intake_key=intake_key, codename=done.codename)


def test_needs_info_cycle(submitted: services.Submitted, operator: Any) -> None:
    req = submitted.request
    services.request_reply(actor=operator, request=req, body="Which city?", ask_for_info=True)
    assert reload(req).status == Status.NEEDS_INFO
    assert not reload(req).awaiting_staff
    services.requester_message_send(request=req, body="Grozny.")
    assert reload(req).status == Status.TRIAGED
    assert reload(req).awaiting_staff
    services.request_reply(actor=operator, request=req, body="And when?", ask_for_info=True)
    assert reload(req).status == Status.NEEDS_INFO
    event = AuditEvent.objects.filter(action="request.message_received").get()
    assert event.data["from"] == Status.NEEDS_INFO
    assert event.data["to"] == Status.TRIAGED


ALL_PAIRS = [(a, b) for a, b in itertools.product(Status.values, Status.values)
             if b != Status.ACCEPTED]


@pytest.mark.parametrize(("start", "to"), ALL_PAIRS)
def test_lifecycle_transitions(plain_submitted: services.Submitted, operator: Any, start: str,
                               to: str) -> None:
    Request.objects.filter(pk=plain_submitted.request.pk).update(status=start)
    before = AuditEvent.objects.count()
    if to in TRANSITIONS[start]:
        services.request_transition(actor=operator, request=plain_submitted.request, to=to)
        assert reload(plain_submitted.request).status == to
        event = AuditEvent.objects.latest("seq")
        assert event.action == "request.transitioned"
        assert event.data == {"from": start, "to": to}
    else:
        with pytest.raises(Conflict) as exc:
            services.request_transition(actor=operator, request=plain_submitted.request, to=to)
        assert "nothing was changed" in exc.value.message
        assert reload(plain_submitted.request).status == start
        assert AuditEvent.objects.count() == before


def test_accepting_needs_conversion(submitted: services.Submitted, operator: Any) -> None:
    with pytest.raises(Conflict):
        services.request_transition(actor=operator, request=submitted.request,
                                    to=Status.ACCEPTED)
    with pytest.raises(ValidationFailed):
        services.request_transition(actor=operator, request=submitted.request, to="bogus")


def test_accept_opens_case_and_person_carrying_the_request(submitted: services.Submitted,
                                                          operator: Any) -> None:
    from haven.cases.models import Case, PersonProfile, Priority
    from haven.people.models import Person

    accepted = services.request_accept(actor=operator, request=submitted.request,
                                       legal_name="Магомед Тестов", phone="+7 900 000 00 00")
    req = reload(submitted.request)
    assert accepted.created
    assert req.status == Status.ACCEPTED
    case = Case.objects.get(pk=req.case_id)
    assert case.pk == accepted.case.pk
    assert case.opened_by == operator
    assert case.priority == Priority.EMERGENCY  # the request said "I am in danger now"
    person = Person.objects.get(pk=req.person_id)
    assert person.legal_name == "Магомед Тестов"
    assert case.members.get(is_principal=True).person_id == person.pk
    profile = PersonProfile.objects.get(person=person)
    assert profile.story == SUBMISSION["story"]
    assert profile.contact_handle == SUBMISSION["contact"]
    assert profile.coarse_location == SUBMISSION["region"]
    assert profile.languages == "English"
    event = AuditEvent.objects.get(action="request.converted")
    assert event.data["case_id"] == str(case.pk)
    assert event.data["person_id"] == str(person.pk)
    assert AuditEvent.objects.filter(action="case.opened", object_id=str(case.pk)).exists()
    assert AuditEvent.objects.filter(action="person.profile_updated").exists()
    with pytest.raises(Conflict):
        services.request_accept(actor=operator, request=req, legal_name="Again")
    assert Person.objects.count() == 1


def test_accept_from_new_is_possible(submitted: services.Submitted, operator: Any) -> None:
    assert submitted.request.status == Status.NEW
    services.request_accept(actor=operator, request=submitted.request, legal_name="X")
    assert reload(submitted.request).status == Status.ACCEPTED


def test_accept_can_link_to_an_existing_case_instead(submitted: services.Submitted,
                                                     coordinator: Any) -> None:
    from haven.cases.models import Note
    from haven.cases.services import case_open
    from haven.people.models import Person

    existing = case_open(actor=coordinator, legal_name="Known Person")
    accepted = services.request_accept(actor=coordinator, request=submitted.request,
                                       link_case=existing)
    req = reload(submitted.request)
    assert not accepted.created
    assert req.case_id == existing.pk
    assert Person.objects.count() == 1
    note = Note.objects.get(case=existing)
    assert SUBMISSION["story"] in note.body
    assert AuditEvent.objects.get(action="request.converted").data["linked"] is True


def test_accept_while_sealed_changes_nothing(sealed_intake: list[str], intake_key: IntakeKey,
                                             operator: Any) -> None:
    from haven.core.errors import Sealed

    done = submit(intake_key)
    with pytest.raises(Sealed):
        services.request_accept(actor=operator, request=done.request, legal_name="X")
    assert reload(done.request).status == Status.NEW


@pytest.mark.parametrize("role", ["caseworker", "verifier", "liaison", "auditor"])
def test_roles_without_permission_are_refused(request: Any, plain_submitted: services.Submitted,
                                               role: str) -> None:
    user = request.getfixturevalue(role)
    with pytest.raises(Forbidden):
        services.request_reply(actor=user, request=plain_submitted.request, body="hi")
    with pytest.raises(Forbidden):
        services.request_transition(actor=user, request=plain_submitted.request, to=Status.TRIAGED)
    assert not selectors.request_list(user=user).exists()
    assert reload(plain_submitted.request).status == Status.NEW


def test_other_organization_sees_nothing(submitted: services.Submitted, outsider: Any) -> None:
    with pytest.raises(NotFound):
        services.request_reply(actor=outsider, request=submitted.request, body="hi")
    with pytest.raises(NotFound):
        selectors.request_get(user=outsider, pk=submitted.request.pk)


def test_no_reply_to_suspicious(submitted: services.Submitted, operator: Any) -> None:
    services.request_transition(actor=operator, request=submitted.request, to=Status.SUSPICIOUS)
    with pytest.raises(Conflict):
        services.request_reply(actor=operator, request=submitted.request, body="hi")
    assert not Message.objects.exists()


def test_no_room_on_disk_refuses_and_stores_nothing(intake_key: IntakeKey, settings: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    submit(intake_key)
    free = shutil.disk_usage(settings.DATA_DIR).free
    settings.HAVEN_INTAKE_DISK_RESERVE_MB = free // (1024 * 1024) + 1
    before = AuditEvent.objects.count()
    with pytest.raises(services.IntakeFull):
        submit(intake_key)
    assert Request.objects.count() == 1
    assert AuditEvent.objects.count() == before


def test_a_database_past_its_cap_refuses(intake_key: IntakeKey, settings: Any) -> None:
    settings.HAVEN_INTAKE_MAX_DATABASE_MB = 1  # a test database is larger than 1 MB
    with pytest.raises(services.IntakeFull):
        submit(intake_key)
    settings.HAVEN_INTAKE_MAX_DATABASE_MB = 100_000
    assert submit(intake_key).request.pk


def test_the_queue_is_not_bounded_by_a_small_count(intake_key: IntakeKey) -> None:
    """Finding 3: after 10,000 junk requests the genuine one was refused ("try again")."""
    template = submit(intake_key).request
    Request.objects.bulk_create([
        Request(organization_id=template.organization_id, intake_key=intake_key,
                urgency="days", urgency_rank=1, lookup_tag=secrets.token_bytes(32),
                kdf_log2_n=10, reply_public_key=b"k" * 32, payload=b"junk")
        for _ in range(10_000)])
    genuine = submit(intake_key, story="A genuine request after the flood.")
    assert genuine.request.status == Status.NEW
    assert Request.objects.filter(status=Status.NEW).count() == 10_002


@pytest.mark.parametrize(("field", "value"), [
    ("contact", "x" * (services.MAX_CONTACT + 1)),
    ("region", ""),
    ("story", "   "),
    ("story", "bad \ufffd bytes"),
    ("story", "nul \x00 char"),
    ("urgency", "yesterday"),
])
def test_bad_input_is_refused_with_field_error(intake_key: IntakeKey, field: str,
                                               value: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        submit(intake_key, **{field: value})
    assert field in exc.value.fields
    assert not Request.objects.exists()


def test_purge_destroys_only_expired_closed_requests(intake_key: IntakeKey, operator: Any,
                                                     settings: Any) -> None:
    settings.HAVEN_INTAKE_RETENTION_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    kept_recent = submit(intake_key).request
    services.request_transition(actor=operator, request=kept_recent, to=Status.DECLINED)
    doomed = {}
    for status in (Status.DECLINED, Status.SPAM, Status.DUPLICATE):
        req = submit(intake_key).request
        services.requester_message_send(request=req, body="hello")
        services.request_transition(actor=operator, request=req, to=status)
        Request.objects.filter(pk=req.pk).update(closed_at=old)
        doomed[req.pk] = status
    suspicious = submit(intake_key).request
    services.request_transition(actor=operator, request=suspicious, to=Status.SUSPICIOUS)
    Request.objects.filter(pk=suspicious.pk).update(closed_at=old)
    open_one = submit(intake_key).request

    assert services.request_purge() == 3
    remaining = set(Request.objects.values_list("pk", flat=True))
    assert remaining == {kept_recent.pk, suspicious.pk, open_one.pk}
    assert not Message.objects.filter(request_id__in=list(doomed)).exists()
    purged = AuditEvent.objects.filter(action="request.purged")
    assert {e.object_id for e in purged} == {str(pk) for pk in doomed}
    assert all(json.dumps(e.data) in {'{"status": "declined"}', '{"status": "spam"}',
                                      '{"status": "duplicate"}'} for e in purged)
    assert services.request_purge() == 0
