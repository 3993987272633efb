"""The pathways API through the real stack: bearer tokens, policy, services, audit."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from haven.accounts import services as account_services
from haven.audit.models import AuditEvent
from haven.cases.models import Case, DocType, Member, Priority, Task, TaskStatus
from haven.pathways import services
from haven.pathways.models import (
    Application,
    ApplicationDate,
    ApplicationStatus,
    Arrival,
    DossierExport,
    DossierState,
    Pathway,
    Travel,
    TravelStatus,
)
from tests.accounts.helpers import api_reauthenticate
from tests.pathways.conftest import add_document

pytestmark = pytest.mark.django_db
AS = ApplicationStatus
TS = TravelStatus
JSON = "application/json"
Api = Callable[[Any], Client]



@pytest.fixture
def api(db: None) -> Api:
    """A token client that re-authenticated (routes, bookings and the ranking want it);
    ``stepped_up=False`` for one that did not."""

    def make(user: Any, *, stepped_up: bool = True) -> Client:
        raw, _ = account_services.token_create(actor=None, user=user, name="test")
        client = Client(headers={"Authorization": f"Bearer {raw}"})
        if stepped_up:
            api_reauthenticate(client, user)
        return client

    return make


def test_route_bookings_and_ranking_want_a_reauthenticated_token(
        household: Case, reference: dict[str, Pathway], caseworker: Any, api: Api) -> None:
    """Issue 13, item 5, over the API: without a recent re-authentication the journey comes
    without being shown at all, and nothing of its route or bookings is in the answer."""
    travel = services.travel_plan(actor=caseworker, case=household, route="Nalchik → Tbilisi")
    services.booking_add(actor=caseworker, travel=travel, carrier="Georgian Bus",
                         reference="QX7P2L")
    client = api(caseworker, stepped_up=False)
    for url in (f"/api/v1/travel/{travel.pk}", f"/api/v1/pathways/suggestions/{household.pk}"):
        refused = client.get(url)
        assert refused.status_code == 403, url
        assert refused.json()["code"] == "reauth_required"
        for secret in (b"Tbilisi", b"QX7P2L", b"Georgian"):
            assert secret not in refused.content
    api_reauthenticate(client, caseworker)
    shown = client.get(f"/api/v1/travel/{travel.pk}").json()
    assert shown["route"]["route"] == "Nalchik → Tbilisi"
    assert shown["bookings"][0]["reference"] == "QX7P2L"


def today() -> Any:
    return timezone.localdate()


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type=JSON)


def patch(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.patch(url, json.dumps(body), content_type=JSON)


def events() -> int:
    """Audit events, leaving out the tokens the tests make for their clients."""
    return AuditEvent.objects.exclude(action__startswith="token.").count()


def move(client: Client, application_id: Any, to: str, **details: Any) -> Any:
    return post(client, f"/api/v1/applications/{application_id}/transition",
                {"to": to, **details})


@pytest.fixture
def application(reference: dict[str, Pathway], household: Case, caseworker: Any
                ) -> Application:
    return services.application_create(actor=caseworker, case=household,
                                       pathway=reference["de-humanitarian"])


def submit(client: Client, application: Application) -> None:
    for to in (AS.COLLECTING_DOCUMENTS, AS.READY_FOR_REVIEW, AS.SUBMITTED):
        response = move(client, application.pk, to)
        assert response.status_code == 200, response.content


# --- pathways ------------------------------------------------------------------------------------


def test_pathways_list_filters_and_detail(reference: dict[str, Pathway], liaison: Any,
                                          api: Api) -> None:
    client = api(liaison)
    everything = client.get("/api/v1/pathways").json()
    assert {p["slug"] for p in everything} == set(reference)
    germany = client.get("/api/v1/pathways", {"country": "de"}).json()
    assert {p["slug"] for p in germany} == {"de-humanitarian", "de-paused"}
    paused = client.get("/api/v1/pathways", {"status": "paused"}).json()
    assert [p["slug"] for p in paused] == ["de-paused"]
    sponsorships = client.get("/api/v1/pathways", {"type": "private_sponsorship"}).json()
    assert [p["slug"] for p in sponsorships] == ["ca-sponsorship"]
    assert client.get("/api/v1/pathways", {"status": "nonsense"}).status_code == 422
    detail = client.get("/api/v1/pathways/de-humanitarian").json()
    assert detail["country"] == "DE"
    assert detail["checklist"][0] == {"doc_type": "passport", "label": "Valid passport",
                                      "label_ru": "Загранпаспорт", "required": True}
    assert detail["sources"][0]["url"] == "https://example.org/de"
    assert detail["version"] == 1
    assert client.get("/api/v1/pathways/no-such-thing").status_code == 404


def test_coordinator_edits_a_pathway_with_its_version(reference: dict[str, Pathway],
                                                      coordinator: Any, api: Api) -> None:
    client = api(coordinator)
    url = "/api/v1/pathways/de-humanitarian"
    response = patch(client, url, {"status": "paused", "cost": "100 EUR", "version": 1})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["cost"], body["version"]) == ("paused", "100 EUR", 2)
    assert body["status_since"] == today().isoformat()
    assert body["edited_by_id"] == str(coordinator.pk)
    audit = AuditEvent.objects.get(action="pathway.updated")
    assert audit.data["fields"] == ["cost", "status", "status_since"]
    # An edit made on the version before is stale: 409, nothing saved.
    before = events()
    stale = patch(client, url, {"cost": "1 EUR", "version": 1})
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale"
    assert Pathway.objects.get(slug="de-humanitarian").cost == "100 EUR"
    assert events() == before


def test_pathway_edit_refuses_bad_input_and_other_roles(reference: dict[str, Pathway],
                                                        coordinator: Any, caseworker: Any,
                                                        api: Api) -> None:
    url = "/api/v1/pathways/de-humanitarian"
    before = events()
    bad = patch(api(coordinator), url, {"processing_days_min": 900})  # above typical and max
    assert bad.status_code == 400
    assert "processing_days_typical" in bad.json()["fields"]
    insecure = patch(api(coordinator), url, {"sources": [
        {"fact": "status", "url": "http://example.org", "title": "t"}]})
    assert insecure.status_code == 400
    assert "sources" in insecure.json()["fields"]
    assert patch(api(coordinator), url, {"country": "XX"}).status_code == 400
    assert patch(api(caseworker), url, {"cost": "free"}).status_code == 403
    pathway = Pathway.objects.get(slug="de-humanitarian")
    assert (pathway.version, pathway.cost, pathway.processing_days_min) == (1, "75 EUR", 14)
    assert events() == before


@pytest.mark.usefixtures("reference")
def test_suggestions_rank_pathways_for_a_case(household: Case, caseworker: Any, operator: Any,
                                              other_caseworker: Any, api: Api) -> None:
    client = api(caseworker)
    response = client.get(f"/api/v1/pathways/suggestions/{household.pk}")
    assert response.status_code == 200, response.content
    ranked = response.json()
    slugs = [fit["pathway"]["slug"] for fit in ranked]
    assert "ar-closed" not in slugs
    assert slugs.index("de-paused") > slugs.index("de-humanitarian")
    first = ranked[0]
    assert {r["kind"] for r in first["reasons"]} <= {"fit", "misfit", "unknown"}
    assert first["outcome"] == {"applications": 0, "approved": 0, "refused": 0, "pending": 0,
                                "approval_rate": None, "median_days_to_decision": None}
    closed = client.get(f"/api/v1/pathways/suggestions/{household.pk}",
                        {"include_closed": "true"}).json()
    assert closed[-1]["pathway"]["slug"] == "ar-closed"
    assert api(operator).get(f"/api/v1/pathways/suggestions/{household.pk}").status_code == 403
    assert api(other_caseworker).get(
        f"/api/v1/pathways/suggestions/{household.pk}").status_code == 404


# --- applications --------------------------------------------------------------------------------


def test_application_create_list_detail_and_history(reference: dict[str, Pathway],
                                                    household: Case, caseworker: Any,
                                                    api: Api) -> None:
    client = api(caseworker)
    response = post(client, "/api/v1/applications",
                    {"case_id": str(household.pk), "pathway": "de-humanitarian"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["pathway"], body["country"]) == ("draft", "de-humanitarian",
                                                                  "DE")
    assert body["next"] == ["collecting_documents", "withdrawn"]
    assert body["case_number"] == household.number
    assert len(body["applicants"]) == 2
    assert {a["outcome"] for a in body["applicants"]} == {"pending"}
    # The principal's passport is on file, the spouse's is not; nobody's evidence is.
    items = {i["doc_type"]: i for i in body["checklist"]["items"]}
    principal = Member.objects.get(case=household, is_principal=True)
    cells = {c["member_id"]: c for c in items["passport"]["applicants"]}
    assert cells[str(principal.pk)]["done"] is True
    assert cells[str(principal.pk)]["source"] == "document"
    assert [c["done"] for c in cells.values()].count(True) == 1
    assert items["passport"]["done"] is False
    assert items["evidence"]["done"] is False
    assert body["checklist"]["percent"] == 25
    assert AuditEvent.objects.filter(action="application.created").count() == 1
    listed = client.get("/api/v1/applications", {"case": str(household.pk)}).json()
    assert [a["id"] for a in listed] == [body["id"]]
    assert client.get("/api/v1/applications", {"status": "submitted"}).json() == []
    detail = client.get(f"/api/v1/applications/{body['id']}").json()
    assert detail["id"] == body["id"]
    history = client.get(f"/api/v1/applications/{body['id']}/history").json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [(None, "draft")]
    # Only some members: the principal alone.
    alone = post(client, "/api/v1/applications",
                 {"case_id": str(household.pk), "pathway": "ge-visa-free",
                  "members": [str(principal.pk)]})
    assert [a["member_id"] for a in alone.json()["applicants"]] == [str(principal.pk)]


def test_application_create_refuses_bad_input_with_no_change(
        reference: dict[str, Pathway], household: Case, caseworker: Any, coordinator: Any,
        api: Api) -> None:
    from haven.cases import services as case_services

    client = api(caseworker)
    before = events()
    case = str(household.pk)
    unknown = post(client, "/api/v1/applications", {"case_id": case, "pathway": "nowhere"})
    assert unknown.status_code == 400
    assert "pathway" in unknown.json()["fields"]
    closed = post(client, "/api/v1/applications", {"case_id": case, "pathway": "ar-closed"})
    assert closed.status_code == 409
    assert "closed" in closed.json()["detail"]
    stranger = Member.objects.get(case=case_services.case_open(actor=coordinator,
                                                               legal_name="Иван"))
    before = events()
    foreign = post(client, "/api/v1/applications", {"case_id": case, "pathway":
                                                    "de-humanitarian",
                                                    "members": [str(stranger.pk)]})
    assert foreign.status_code == 400
    nobody = post(client, "/api/v1/applications", {"case_id": case, "pathway":
                                                   "de-humanitarian", "members": []})
    assert nobody.status_code == 400
    future = post(client, "/api/v1/applications", {
        "case_id": case, "pathway": "de-humanitarian",
        "on": (today() + timedelta(days=2)).isoformat()})
    assert future.status_code == 400
    assert "on" in future.json()["fields"]
    malformed = post(client, "/api/v1/applications", {"case_id": "not-a-uuid",
                                                      "pathway": "de-humanitarian"})
    assert malformed.status_code == 422
    assert not Application.objects.exists()
    assert events() == before


@pytest.mark.parametrize("role", ["operator", "verifier", "liaison", "auditor"])
def test_application_operations_are_refused_to_roles_without_permission(
        request: pytest.FixtureRequest, application: Application, role: str,
        api: Api) -> None:
    client = api(request.getfixturevalue(role))
    before = events()
    assert post(client, "/api/v1/applications", {
        "case_id": str(application.case_id), "pathway": "ge-visa-free"}).status_code == 403
    assert client.get(f"/api/v1/applications/{application.pk}").status_code == 403
    assert move(client, application.pk, "collecting_documents").status_code == 403
    assert patch(client, f"/api/v1/applications/{application.pk}",
                 {"external_reference": "X"}).status_code == 403
    assert client.get("/api/v1/applications").status_code == 403
    application.refresh_from_db()
    assert application.status == AS.DRAFT
    assert Application.objects.count() == 1
    assert events() == before


@pytest.mark.parametrize("role", ["other_caseworker", "outsider"])
def test_an_application_on_an_unreachable_case_is_not_found(
        request: pytest.FixtureRequest, application: Application, role: str,
        api: Api) -> None:
    client = api(request.getfixturevalue(role))
    assert client.get(f"/api/v1/applications/{application.pk}").status_code == 404
    assert move(client, application.pk, "collecting_documents").status_code in (403, 404)
    assert client.get(f"/api/v1/applications/{application.pk}/history").status_code in (403, 404)
    application.refresh_from_db()
    assert application.status == AS.DRAFT


def test_transitions_details_and_refusals(application: Application, caseworker: Any,
                                          api: Api) -> None:
    client = api(caseworker)
    before = events()
    wrong = move(client, application.pk, "approved")
    assert wrong.status_code == 409
    assert "cannot move from" in wrong.json()["detail"]
    misplaced = move(client, application.pk, "collecting_documents", submitted_to="Embassy")
    assert misplaced.status_code == 400
    assert "submitted_to" in misplaced.json()["fields"]
    future = move(client, application.pk, "collecting_documents",
                  on=(today() + timedelta(days=1)).isoformat())
    assert future.status_code == 400
    unknown = move(client, application.pk, "teleported")
    assert unknown.status_code == 422
    application.refresh_from_db()
    assert application.status == AS.DRAFT
    assert events() == before
    submit(client, application)
    response = move(client, application.pk, "interview_scheduled",
                    interview_on=(today() + timedelta(days=10)).isoformat(),
                    interview_label="Interview at the embassy")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "interview_scheduled"
    assert body["submitted_on"] == today().isoformat()
    (entry,) = body["dates"]
    assert entry["kind"] == "interview"
    task = Task.objects.get(pk=entry["task_id"])
    assert task.due == today() + timedelta(days=10)
    history = client.get(f"/api/v1/applications/{application.pk}/history").json()
    assert [h["to_status"] for h in history] == ["draft", "collecting_documents",
                                                  "ready_for_review", "submitted",
                                                  "interview_scheduled"]


def test_patch_changes_only_the_details_sent(application: Application, caseworker: Any,
                                             api: Api) -> None:
    client = api(caseworker)
    url = f"/api/v1/applications/{application.pk}"
    response = patch(client, url, {"submitted_to": "Embassy in Tbilisi",
                                   "external_reference": "REF-1"})
    assert response.status_code == 200, response.content
    assert response.json()["submitted_to"] == "Embassy in Tbilisi"
    response = patch(client, url, {"external_reference": "REF-2"})
    body = response.json()
    assert (body["submitted_to"], body["external_reference"]) == ("Embassy in Tbilisi", "REF-2")
    audit = AuditEvent.objects.filter(action="application.updated").order_by("seq").last()
    assert audit is not None
    assert audit.data["fields"] == ["external_reference"]
    assert "REF-2" not in str(audit.data)
    before = events()
    backwards = patch(client, url, {"valid_from": "2026-03-01", "valid_until": "2026-02-01"})
    assert backwards.status_code == 400
    too_long = patch(client, url, {"external_reference": "x" * 301})
    assert too_long.status_code == 422
    application.refresh_from_db()
    assert application.valid_from is None
    assert application.external_reference == "REF-2"
    assert events() == before


def test_a_stale_patch_is_409_and_changes_nothing(application: Application, caseworker: Any,
                                                  coordinator: Any, api: Api) -> None:
    url = f"/api/v1/applications/{application.pk}"
    seen = api(caseworker).get(url).json()["version"]
    first = patch(api(coordinator), url, {"external_reference": "THEIRS", "version": seen})
    assert first.status_code == 200, first.content
    assert first.json()["version"] == seen + 1
    before = events()
    stale = patch(api(caseworker), url, {"external_reference": "MINE", "version": seen})
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale"
    application.refresh_from_db()
    assert (application.external_reference, application.version) == ("THEIRS", seen + 1)
    assert events() == before


def test_dates_make_one_task_and_move_it(application: Application, caseworker: Any,
                                         api: Api) -> None:
    client = api(caseworker)
    url = f"/api/v1/applications/{application.pk}/dates"
    due = today() + timedelta(days=5)
    created = post(client, url, {"kind": "deadline", "on": due.isoformat(),
                                 "label": "Send the bank statement"})
    assert created.status_code == 201, created.content
    entry = created.json()
    task = Task.objects.get(pk=entry["task_id"])
    assert (task.due, task.priority, task.assignee_id) == (due, Priority.URGENT,
                                                           caseworker.pk)
    later = due + timedelta(days=7)
    moved = post(client, url, {"kind": "deadline", "on": later.isoformat(),
                               "date_id": entry["id"]})
    assert moved.status_code == 200, moved.content
    assert moved.json()["task_id"] == entry["task_id"]
    task.refresh_from_db()
    assert task.due == later
    assert ApplicationDate.objects.count() == 1
    before = events()
    wrong_kind = post(client, url, {"kind": "interview", "on": later.isoformat(),
                                    "date_id": entry["id"]})
    assert wrong_kind.status_code == 404
    assert post(client, url, {"kind": "party", "on": later.isoformat()}).status_code == 422
    assert events() == before
    detail = client.get(f"/api/v1/applications/{application.pk}").json()
    assert [d["label"] for d in detail["dates"]] == ["Send the bank statement"]


def test_split_decision_through_the_api(application: Application, caseworker: Any,
                                        api: Api) -> None:
    client = api(caseworker)
    submit(client, application)
    principal = Member.objects.get(case=application.case, is_principal=True)
    spouse = Member.objects.get(case=application.case, is_principal=False)
    before = events()
    contradiction = move(client, application.pk, "refused",
                         outcomes={str(principal.pk): "approved"})
    assert contradiction.status_code == 409
    assert "split" in contradiction.json()["detail"]
    bad = move(client, application.pk, "approved", outcomes={str(principal.pk): "maybe"})
    assert bad.status_code == 422
    application.refresh_from_db()
    assert application.status == AS.SUBMITTED
    assert events() == before
    response = move(client, application.pk, "approved",
                    outcomes={str(spouse.pk): "refused"},
                    refusal_reasons="Marriage not recognised")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["decision"], body["decision_days"]) == ("approved",
                                                                         "approved", 0)
    outcomes = {a["member_id"]: a["outcome"] for a in body["applicants"]}
    assert outcomes == {str(principal.pk): "approved", str(spouse.pk): "refused"}
    assert body["refusal_reasons"] == "Marriage not recognised"
    visa = move(client, application.pk, "visa_issued", valid_from=today().isoformat(),
                valid_until=(today() + timedelta(days=90)).isoformat())
    assert visa.status_code == 200, visa.content
    assert visa.json()["next"] == ["used", "expired", "withdrawn"]


# --- dossiers ------------------------------------------------------------------------------------


def test_dossier_request_approve_and_decline(application: Application, caseworker: Any,
                                             coordinator: Any, api: Api) -> None:
    worker, boss = api(caseworker), api(coordinator)
    response = post(worker, "/api/v1/dossiers", {"application_id": str(application.pk),
                                                 "fields": ["legal_name", "submitted_to"],
                                                 "language": "ru"})
    assert response.status_code == 201, response.content
    export = response.json()
    assert (export["state"], export["fields"], export["language"]) == (
        "requested", ["legal_name", "submitted_to"], "ru")
    queue = boss.get("/api/v1/dossiers").json()
    assert [e["id"] for e in queue] == [export["id"]]
    before = events()
    assert post(worker, f"/api/v1/dossiers/{export['id']}/approve", {}).status_code == 403
    bad = post(worker, "/api/v1/dossiers", {"application_id": str(application.pk),
                                            "fields": ["duress_word"]})
    assert bad.status_code == 400
    empty = post(worker, "/api/v1/dossiers", {"application_id": str(application.pk),
                                              "fields": []})
    assert empty.status_code == 400
    assert DossierExport.objects.count() == 1
    assert events() == before
    approved = post(boss, f"/api/v1/dossiers/{export['id']}/approve", {})
    assert approved.status_code == 200, approved.content
    assert approved.json()["state"] == "approved"
    assert approved.json()["decided_by_id"] == str(coordinator.pk)
    again = post(boss, f"/api/v1/dossiers/{export['id']}/decline", {})
    assert again.status_code == 409
    assert DossierExport.objects.get().state == DossierState.APPROVED
    assert boss.get("/api/v1/dossiers").json() == []
    every = boss.get("/api/v1/dossiers", {"state": ""}).json()
    assert [e["state"] for e in every] == ["approved"]
    second = post(worker, "/api/v1/dossiers", {"application_id": str(application.pk),
                                               "fields": ["legal_name"]}).json()
    declined = post(boss, f"/api/v1/dossiers/{second['id']}/decline", {})
    assert declined.json()["state"] == "declined"
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="dossier.")
            .order_by("seq")] == ["dossier.requested", "dossier.approved",
                                  "dossier.requested", "dossier.declined"]


def test_dossier_pdf_is_not_offered_over_the_api(client: Client, db: None) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    dossier_paths = [p for p in doc["paths"] if p.startswith("/api/v1/dossiers")]
    assert not [p for p in dossier_paths if "export" in p or "download" in p]
    description = doc["paths"]["/api/v1/dossiers"]["post"]["description"]
    assert "not** available over the API" in description


# --- travel --------------------------------------------------------------------------------------


def test_travel_plan_route_and_arrival(reference: dict[str, Pathway], household: Case,
                                       caseworker: Any, coordinator: Any, api: Api) -> None:
    client = api(caseworker)
    response = post(client, "/api/v1/travel", {
        "case_id": str(household.pk), "route": "Nalchik → Tbilisi by bus",
        "transit_points": "Upper Lars", "escort": "Aslan",
        "depart_on": (today() + timedelta(days=3)).isoformat()})
    assert response.status_code == 201, response.content
    travel = response.json()
    assert travel["status"] == "planning"
    assert len(travel["members"]) == 2
    assert "route" not in travel
    listed = client.get("/api/v1/travel", {"case": str(household.pk)})
    assert "Nalchik" not in listed.content.decode()
    detail = client.get(f"/api/v1/travel/{travel['id']}").json()
    assert detail["route"] == {"route": "Nalchik → Tbilisi by bus",
                               "transit_points": "Upper Lars", "escort": "Aslan"}
    assert AuditEvent.objects.filter(action="travel.route_viewed").count() == 1
    updated = patch(client, f"/api/v1/travel/{travel['id']}", {"escort": "Timur"})
    assert updated.status_code == 200, updated.content
    assert str(Travel.objects.get().escort) == "Timur"
    # Nothing is allowed that the table does not allow; a bad arrival changes nothing.
    url = f"/api/v1/travel/{travel['id']}/transition"
    before = events()
    assert post(client, url, {"to": "arrived"}).status_code == 409
    assert post(client, url, {"to": "booked", "country": "DE"}).status_code == 400
    assert Travel.objects.get().status == TS.PLANNING
    assert events() == before
    for to in ("booked", "in_transit"):
        assert post(client, url, {"to": to}).status_code == 200
    before = events()
    missing = post(client, url, {"to": "arrived"})
    assert missing.status_code == 400
    assert set(missing.json()["fields"]) == {"country", "status_obtained"}
    assert Travel.objects.get().status == TS.IN_TRANSIT
    assert not Arrival.objects.exists()
    assert events() == before
    follow_up = today() + timedelta(days=30)
    arrived = post(client, url, {"to": "arrived", "country": "de",
                                 "status_obtained": "asylum_seeker",
                                 "receiving_partner": "Pro Asyl Berlin",
                                 "follow_up_on": follow_up.isoformat()})
    assert arrived.status_code == 200, arrived.content
    body = arrived.json()
    assert body["status"] == "arrived"
    assert body["arrival"]["country"] == "DE"
    assert body["arrival"]["receiving_partner"] is None
    task = Task.objects.get(pk=body["arrival"]["follow_up_task_id"])
    assert task.due == follow_up
    detail = client.get(f"/api/v1/travel/{travel['id']}").json()
    assert detail["arrival"]["receiving_partner"] == "Pro Asyl Berlin"
    assert patch(client, f"/api/v1/travel/{travel['id']}", {"escort": "x"}).status_code == 409


def test_detained_raises_an_emergency_task_for_the_caseworker(
        household: Case, caseworker: Any, coordinator: Any, api: Api) -> None:
    client = api(caseworker)
    travel = post(client, "/api/v1/travel", {"case_id": str(household.pk)}).json()
    url = f"/api/v1/travel/{travel['id']}/transition"
    assert post(client, url, {"to": "booked"}).status_code == 200
    response = post(client, url, {"to": "detained"})
    assert response.status_code == 200, response.content
    assert response.json()["next"] == ["in_transit", "aborted"]
    (task,) = Task.objects.filter(priority=Priority.EMERGENCY)
    assert (task.assignee_id, task.due, task.status) == (caseworker.pk, today(),
                                                         TaskStatus.OPEN)
    assert household.number in task.title
    household.refresh_from_db()
    assert (household.status, household.priority) == ("departed", Priority.EMERGENCY)


@pytest.mark.parametrize("role", ["operator", "verifier", "liaison", "auditor"])
def test_travel_is_refused_to_roles_without_permission(
        request: pytest.FixtureRequest, household: Case, caseworker: Any, role: str,
        api: Api) -> None:
    travel = services.travel_plan(actor=caseworker, case=household, route="secret")
    client = api(request.getfixturevalue(role))
    before = events()
    assert post(client, "/api/v1/travel", {"case_id": str(household.pk)}).status_code == 403
    response = client.get(f"/api/v1/travel/{travel.pk}")
    assert response.status_code == 403
    assert "secret" not in response.content.decode()
    assert post(client, f"/api/v1/travel/{travel.pk}/transition",
                {"to": "booked"}).status_code == 403
    assert Travel.objects.get().status == TS.PLANNING
    assert events() == before


def test_travel_on_another_cases_application_is_refused(
        reference: dict[str, Pathway], household: Case, caseworker: Any, coordinator: Any,
        api: Api) -> None:
    from haven.cases import services as case_services

    other = case_services.case_open(actor=coordinator, legal_name="Иван")
    foreign = Application.objects.create(
        organization_id=other.organization_id, case=other, pathway=reference["ge-visa-free"],
        stage_since=today())
    before = events()
    response = post(api(coordinator), "/api/v1/travel", {"case_id": str(household.pk),
                                                         "application_id": str(foreign.pk)})
    assert response.status_code == 400
    unseen = post(api(caseworker), "/api/v1/travel", {"case_id": str(household.pk),
                                                      "application_id": str(foreign.pk)})
    assert unseen.status_code == 400
    assert "application_id" in unseen.json()["fields"]
    assert not Travel.objects.exists()
    assert events() == before


# --- outcomes ------------------------------------------------------------------------------------


def test_outcomes_board_has_aggregates_and_no_names(application: Application, caseworker: Any,
                                                    auditor: Any, api: Api) -> None:
    client = api(caseworker)
    submit(client, application)
    add_document(application.case, caseworker, DocType.EVIDENCE)
    assert move(client, application.pk, "refused").status_code == 200
    response = api(auditor).get("/api/v1/outcomes")
    assert response.status_code == 200, response.content
    board = response.json()
    (row,) = [r for r in board["pathways"] if r["pathway"] == "de-humanitarian"]
    assert row["funnel"]["cases"] == 1
    assert row["funnel"]["submitted"] == 1
    assert (row["approved"], row["refused"], row["approval_rate"]) == (0, 1, 0.0)
    (country,) = [r for r in board["countries"] if r["country"] == "DE"]
    assert country["pathway"] == ""
    assert "Магомед" not in response.content.decode()
    assert "Зарема" not in response.content.decode()
    only_ca = api(auditor).get("/api/v1/outcomes", {"country": "CA"}).json()
    assert only_ca["pathways"] == []
    assert client.get("/api/v1/outcomes").status_code == 403


# --- the checklist, bookings and undo ------------------------------------------------------------


def test_checklist_is_ticked_per_applicant_over_the_api(
        reference: dict[str, Pathway], household: Case, caseworker: Any, operator: Any,
        api: Api) -> None:
    application = services.application_create(actor=caseworker, case=household,
                                              pathway=reference["de-humanitarian"])
    spouse = Member.objects.get(case=household, is_principal=False)
    client = api(caseworker)
    url = f"/api/v1/applications/{application.pk}/checklist"
    response = post(client, url, {"member_id": str(spouse.pk), "doc_type": "passport",
                                  "done": True})
    assert response.status_code == 200, response.content
    (passport,) = [i for i in response.json()["items"] if i["doc_type"] == "passport"]
    assert passport["done"] is True
    cell = {c["member_id"]: c for c in passport["applicants"]}[str(spouse.pk)]
    assert (cell["source"], cell["ticked_by_id"]) == ("hand", str(caseworker.pk))
    assert response.json()["percent"] == 50
    assert post(client, url, {"member_id": str(spouse.pk), "doc_type": "diploma",
                              "done": True}).status_code == 400
    assert post(api(operator), url, {"member_id": str(spouse.pk), "doc_type": "passport",
                                     "done": False}).status_code == 403


def test_bookings_travel_with_the_route_over_the_api(
        household: Case, caseworker: Any, other_caseworker: Any, api: Api) -> None:
    client = api(caseworker)
    travel = post(client, "/api/v1/travel", {"case_id": str(household.pk)}).json()
    url = f"/api/v1/travel/{travel['id']}/bookings"
    created = post(client, url, {"mode": "flight", "number": "A9 652",
                                 "departs_at": "2027-01-15T06:40:00", "reference": "QX7P2L"})
    assert created.status_code == 201, created.content
    booking = created.json()
    assert (booking["number"], booking["departs_at"], booking["ticket_ids"]) == (
        "A9 652", "2027-01-15T06:40", [])
    detail = client.get(f"/api/v1/travel/{travel['id']}").json()
    assert [b["reference"] for b in detail["bookings"]] == ["QX7P2L"]
    listed = client.get("/api/v1/travel", {"case": str(household.pk)}).content.decode()
    assert "QX7P2L" not in listed
    changed = patch(client, f"{url}/{booking['id']}", {"reference": None, "mode": "train"})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["reference"], changed.json()["mode"]) == ("", "train")
    stranger = api(other_caseworker)
    assert patch(stranger, f"{url}/{booking['id']}", {"number": "x"}).status_code == 404
    assert stranger.delete(f"{url}/{booking['id']}").status_code == 404
    assert client.delete(f"{url}/{booking['id']}").status_code == 204
    assert client.get(f"/api/v1/travel/{travel['id']}").json()["bookings"] == []


def test_a_move_and_its_undo_over_the_api(household: Case, caseworker: Any, api: Api) -> None:
    client = api(caseworker)
    travel = post(client, "/api/v1/travel", {"case_id": str(household.pk)}).json()
    url = f"/api/v1/travel/{travel['id']}"
    assert post(client, f"{url}/undo", {}).status_code == 409
    post(client, f"{url}/transition", {"to": "booked"})
    moved = post(client, f"{url}/transition", {"to": "in_transit"}).json()
    assert moved["last_step"]["case_status"] == ["active", "ready_to_travel", "departed"]
    assert moved["last_step"]["to_status"] == "in_transit"
    undone = post(client, f"{url}/undo", {})
    assert undone.status_code == 200, undone.content
    assert (undone.json()["status"], undone.json()["last_step"]["to_status"]) == (
        "booked", "booked")
    household.refresh_from_db()
    assert household.status == "active"
