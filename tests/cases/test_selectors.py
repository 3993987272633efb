from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haven.access import policy
from haven.access.permissions import Perm
from haven.audit.models import AuditEvent
from haven.cases import selectors, services, start_selectors
from haven.cases.models import Case, Outcome, Priority, SharedField, Status
from tests.cases.conftest import soon, verify

ROLES = ["coordinator", "caseworker", "other_caseworker", "operator", "verifier", "liaison",
         "auditor", "outsider"]


def test_who_sees_an_assigned_case(assigned: Case, request: pytest.FixtureRequest) -> None:
    expected = {"coordinator": True, "caseworker": True, "other_caseworker": False,
                "operator": True, "verifier": True, "liaison": False, "auditor": False,
                "outsider": False}
    for role, sees in expected.items():
        user = request.getfixturevalue(role)
        assert policy.cases_visible_to(user, Case.objects.all()).filter(pk=assigned.pk).exists() is sees, role
        assert policy.has_perm(user, Perm.CASE_READ, assigned) is sees, role
        if not sees:
            with pytest.raises(Exception, match=r"Not found|permission"):
                selectors.case_get(actor=user, pk=assigned.pk)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=st.sampled_from(list(Status)), outcome=st.sampled_from(["", *Outcome.values]),
       assigned_to=st.sampled_from(["caseworker", "other_caseworker", None]),
       role=st.sampled_from(ROLES))
def test_queryset_and_object_rule_agree(assigned: Case, *, request: pytest.FixtureRequest,
                                        status: str, outcome: str, assigned_to: str | None,
                                        role: str) -> None:
    """visible_to (the SQL filter) and has_perm (the object rule) never disagree."""
    Case.objects.filter(pk=assigned.pk).update(
        status=status, verification_outcome=outcome,
        assigned_to=request.getfixturevalue(assigned_to) if assigned_to else None)
    case = Case.objects.get(pk=assigned.pk)
    user = request.getfixturevalue(role)
    in_query = policy.cases_visible_to(user, Case.objects.all()).filter(pk=case.pk).exists()
    assert in_query is policy.has_perm(user, Perm.CASE_READ, case)
    if in_query and role != "coordinator":
        assert status != Status.SUSPENDED
        assert outcome != Outcome.SUSPECT


@pytest.mark.parametrize("query", ["магомед", "MAGOMED", "Magomed", "хасанов",
                                   "Khasanov Magomed", "Маго", "+7 (928) 000-11-22"])
def test_search_in_any_script(assigned: Case, coordinator: Any, caseworker: Any,
                              query: str) -> None:
    services.case_open(actor=coordinator, legal_name="Ислам Магомедов")
    assert list(selectors.case_list(actor=caseworker, q=query)) == [assigned]
    assert assigned in list(selectors.case_list(actor=coordinator, q=query))


def test_search_by_number_and_misses(assigned: Case, caseworker: Any, liaison: Any) -> None:
    assert list(selectors.case_list(actor=caseworker, q=assigned.number.lower())) == [assigned]
    assert list(selectors.case_list(actor=caseworker, q="Petr Sidorov")) == []
    assert list(selectors.case_list(actor=liaison, q="magomed")) == []


@pytest.mark.parametrize("query", ["Magomet", "Mohammed Khasanov", "Khassanow Magomed",
                                   "Magomed Hasanof", "Магамед Хасанов", "Magomed Khasanpv"])
def test_search_takes_any_spelling(assigned: Case, caseworker: Any, coordinator: Any,
                                   query: str) -> None:
    assert list(selectors.case_list(actor=caseworker, q=query)) == [assigned]
    assert assigned in list(selectors.case_list(actor=coordinator, q=query))


@pytest.mark.parametrize("query", ["Магомед Хасанов", "Magomed Khasanov", "Mohammed Hasanov"])
def test_no_spelling_reaches_another_caseworkers_case(assigned: Case, other_caseworker: Any,
                                                      operator: Any, query: str) -> None:
    # The exact name of a person in someone else's case, and its other spellings: nothing.
    assert list(selectors.case_list(actor=other_caseworker, q=query)) == []


def test_search_does_not_reach_other_caseworkers_cases(assigned: Case,
                                                       other_caseworker: Any) -> None:
    assert list(selectors.case_list(actor=other_caseworker, q="magomed")) == []


def test_filters(assigned: Case, coordinator: Any, caseworker: Any) -> None:
    other = services.case_open(actor=coordinator, legal_name="Ruslan",
                               priority=Priority.EMERGENCY)
    assert list(selectors.case_list(actor=coordinator, priority=Priority.EMERGENCY)) == [other]
    assert list(selectors.case_list(actor=coordinator, status=Status.ACTIVE)) == [assigned]
    assert list(selectors.case_list(actor=coordinator, assignee="none")) == [other]
    assert list(selectors.case_list(actor=coordinator, assignee=str(caseworker.pk))) == [assigned]
    assert list(selectors.case_list(actor=coordinator, assignee="garbage")) == []
    assert next(iter(selectors.case_list(actor=coordinator))) == other  # emergencies first


def test_dashboard(assigned: Case, caseworker: Any, coordinator: Any) -> None:
    services.case_update(actor=caseworker, case=assigned, priority=Priority.EMERGENCY)
    task = services.task_create(actor=caseworker, case=assigned, title="Call the consulate",
                                assignee=caseworker,
                                due=timezone.localdate() - timedelta(days=2))
    Case.objects.filter(pk=assigned.pk).update(next_review=timezone.localdate())
    board = start_selectors.dashboard(actor=caseworker)
    assert board.my_cases == [assigned]
    assert board.emergencies == [assigned]
    assert start_selectors.urgent_cases(actor=caseworker) == [assigned]
    assert board.overdue == [task]
    assert board.overdue[0].title == "Call the consulate"
    assert board.reviews_due == [assigned]
    assert start_selectors.dashboard(actor=coordinator).overdue == [task]


def test_case_view_masks_people_and_records_the_visit(assigned: Case, caseworker: Any,
                                                      coordinator: Any) -> None:
    services.note_add(actor=coordinator, case=assigned, body="secret",
                      visibility="coordinator")
    services.note_add(actor=caseworker, case=assigned, body="team")
    view = selectors.case_view(actor=caseworker, case=assigned)
    assert [n.body for n in view.notes] == ["team"]
    assert not view.verification_details
    event = AuditEvent.objects.filter(action="case.viewed").latest("seq")
    assert event.data["notes"] == [str(view.notes[0].pk)]
    assert {e.action for e in view.history} >= {"case.opened", "case.assigned", "note.added"}
    full = selectors.case_view(actor=coordinator, case=assigned)
    assert len(full.notes) == 2
    assert full.verification_details


def test_liaison_sees_only_shared_fields(assigned: Case, coordinator: Any, liaison: Any,
                                        caseworker: Any) -> None:
    person = assigned.members.get().person
    services.profile_update(actor=caseworker, case=assigned, person=person,
                            nationality="Russian", languages="Chechen, Russian")
    assert not policy.cases_visible_to(liaison, Case.objects.all()).exists()
    services.referral_create(actor=coordinator, case=assigned, liaison=liaison,
                             shared_fields=[SharedField.NATIONALITY, SharedField.PRIORITY])
    case = selectors.case_get(actor=liaison, pk=assigned.pk)
    view = selectors.case_view(actor=liaison, case=case)
    assert view.shared == {"priority": "normal", "nationality": "Russian"}
    assert view.shared_rows == [("Priority", "Normal"), ("Nationality", "Russian")]
    assert view.notes == []
    assert view.members == []
    assert view.history == []


def test_verifier_sees_cases_sent_to_them(opened: Case, operator: Any, verifier: Any,
                                          coordinator: Any) -> None:
    assert not policy.cases_visible_to(verifier, Case.objects.all()).exists()
    verify(opened, operator=operator, verifier=verifier, coordinator=coordinator,
           outcome=Outcome.PARTIAL)
    assert list(policy.cases_visible_to(verifier, Case.objects.all())) == [opened]


def test_search_of_a_common_name_checks_case_by_case(assigned: Case, coordinator: Any,
                                                     caseworker: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    other = services.case_open(actor=coordinator, legal_name="Магомед Исаев",
                               phone="+7 928 555 44 33")
    monkeypatch.setattr(selectors, "SEARCH_IDS", 1)
    found = selectors.case_search(actor=coordinator, q="magomed")
    assert set(found.cases) == {assigned, other}
    assert (found.count, found.many_people) == (selectors.MANY_PEOPLE_CASES + 1, 1)  # not counted
    assert selectors.case_search(actor=coordinator, q="magomed", status="active").count is None
    mine = selectors.case_search(actor=caseworker, q="magomed")
    assert (list(mine.cases), mine.count) == ([assigned], None)  # a caseworker counts hers
    assert list(selectors.case_list(actor=coordinator, q="Isaev Magomed")) == [other]
    assert list(selectors.case_list(actor=coordinator, q="+79285554433")) == [other]


def test_search_reads_the_rarest_word_first(assigned: Case, coordinator: Any) -> None:
    from haven.people import selectors as people_selectors

    for i in range(3):
        services.case_open(actor=coordinator, legal_name=f"Магомед Другой{i}")
    search = people_selectors.person_search(coordinator, "Магомед Хасанов")
    assert search is not None
    rare = people_selectors.person_search(coordinator, "Хасанов")
    assert rare is not None
    assert search.names[0] == rare.names[0]
    assert list(selectors.case_list(actor=coordinator, q="Магомед Хасанов")) == [assigned]
    assert selectors.case_search(actor=coordinator, q="Магомед Хасанов").count == 1


def test_history_holds_the_case_and_its_records_newest_first(
        assigned: Case, caseworker: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    note = services.note_add(actor=caseworker, case=assigned, body="called")
    history = selectors.case_history(case=assigned)
    assert [e.seq for e in history] == sorted((e.seq for e in history), reverse=True)
    assert history[0].action == "note.added"
    assert history[0].object_id == str(note.pk)
    assert "case.opened" in {e.action for e in history}
    monkeypatch.setattr(selectors, "HISTORY_ROWS", 2)
    assert len(selectors.case_history(case=assigned)) == 2


def test_my_tasks_overdue_first_undated_last_and_done_apart(assigned: Case,
                                                            caseworker: Any) -> None:
    today = timezone.localdate()

    def add(title: str, due: Any) -> Any:
        return services.task_create(actor=caseworker, case=assigned, title=title,
                                    assignee=caseworker, due=due)

    later, undated = add("later", today + timedelta(days=5)), add("undated", None)
    late, latest = add("late", today - timedelta(days=3)), add("later still", soon(9))
    done = add("done", today)
    services.task_transition(actor=caseworker, task=done, to="done")
    assert list(selectors.task_list(actor=caseworker)) == [late, later, latest, undated]
    assert list(selectors.task_list(actor=caseworker, status="done")) == [done]
    assert len(selectors.task_list(actor=caseworker, status="")) == 5


def test_my_tasks_hide_tasks_of_cases_i_no_longer_reach(assigned: Case, caseworker: Any,
                                                        coordinator: Any, liaison: Any,
                                                        other_caseworker: Any) -> None:
    services.task_create(actor=caseworker, case=assigned, title="x", assignee=caseworker)
    assert selectors.task_list(actor=caseworker).count() == 1
    assert selectors.task_list(actor=liaison).count() == 0
    services.case_assign(actor=coordinator, case=assigned, assignee=other_caseworker)
    assert selectors.task_list(actor=caseworker).count() == 0


def test_task_assignees_are_those_who_reach_the_case(assigned: Case, *, coordinator: Any,
                                                     caseworker: Any, operator: Any,
                                                     verifier: Any, other_caseworker: Any,
                                                     liaison: Any, auditor: Any,
                                                     outsider: Any) -> None:
    assert set(selectors.task_assignees(case=assigned)) == {coordinator, caseworker, operator,
                                                            verifier}
