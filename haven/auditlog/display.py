"""How an audit event reads to a person: who acted (by username), on which case (by number),
what happened (the action's label) and its details in words instead of internal codes.

Events store ids and codes only — the log holds no personal data (docs/architecture.md, threat 6) — so this
module puts the words in at display time, for one page of events at a time: the usernames,
case numbers, shelter code names and pathway names a page needs are read in one query each,
whatever the page holds. Usernames, case numbers and code names are not personal data: they
are what every staff page shows. Ids that have no name a person would know (a note, a
message, a person of a case) are left out of the details; the API returns the raw event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from uuid import UUID

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.accounts.models import User
from haven.audit.exports import LISTS
from haven.audit.models import AuditEvent
from haven.cases import models as cases
from haven.cases.models import Case
from haven.housing import models as housing
from haven.housing.models import Shelter
from haven.intake import models as intake
from haven.pathways import models as pathways
from haven.pathways.models import Country, Pathway

# --- what events are called -----------------------------------------------------------------------

ACTIONS: dict[str, Any] = {
    "application.created": _("Application started"),
    "application.date_set": _("Application date set"),
    "application.transitioned": _("Application status changed"),
    "application.updated": _("Application edited"),
    "audit.verified": _("Audit chain verified"),
    "auth.locked_out": _("Account locked after failed logins"),
    "auth.logged_in": _("Logged in"),
    "auth.logged_out": _("Logged out"),
    "auth.login_failed": _("Login failed"),
    "auth.login_refused_locked": _("Login refused: account locked"),
    "auth.password_ok": _("Password accepted"),
    "auth.reauthenticated": _("Identity confirmed again"),
    "auth.recovery_code_used": _("Recovery code used"),
    "auth.recovery_codes_replaced": _("Recovery codes replaced"),
    "auth.second_factor_enrolled": _("Second factor enrolled"),
    "auth.sessions_ended": _("Other sessions ended"),
    "case.assigned": _("Caseworker assigned"),
    "case.member_added": _("Household member added"),
    "case.member_updated": _("Household member changed"),
    "case.opened": _("Case opened"),
    "case.referred": _("Case referred to a partner"),
    "case.risk_assessed": _("Risk assessed"),
    "case.transitioned": _("Case status changed"),
    "case.updated": _("Case edited"),
    "case.viewed": _("Case page viewed"),
    "document.added": _("Document added"),
    "document.downloaded": _("Document downloaded"),
    "dossier.approved": _("Dossier approved"),
    "dossier.declined": _("Dossier declined"),
    "dossier.exported": _("Dossier exported"),
    "dossier.requested": _("Dossier requested"),
    "intake_key.created": _("Intake key created"),
    "keys.initialised": _("Keys created"),
    "keys.rotated": _("Keys rotated"),
    "keys.rotation_started": _("Key rotation started"),
    "keys.sealed": _("Server sealed"),
    "keys.share_accepted": _("Key share accepted"),
    "keys.share_refused": _("Key share refused"),
    "keys.unsealed": _("Server unsealed"),
    "list.exported": _("List exported (CSV)"),
    "note.added": _("Note added"),
    "note.redacted": _("Note redacted"),
    "organization.created": _("Organization created"),
    "pathway.updated": _("Pathway edited"),
    "pathways.loaded": _("Pathways loaded"),
    "people.reindexed": _("Name search rebuilt"),
    "person.created": _("Person registered"),
    "person.erased": _("Person erased"),
    "person.file_added": _("Person's file added"),
    "person.file_downloaded": _("Person's file downloaded"),
    "person.profile_updated": _("Person's details edited"),
    "person.revealed": _("Person's details revealed"),
    "placement.created": _("Placement planned"),
    "placement.transitioned": _("Placement changed"),
    "referral.withdrawn": _("Referral withdrawn"),
    "request.converted": _("Request accepted"),
    "request.message_received": _("Message received"),
    "request.purged": _("Request destroyed"),
    "request.read": _("Request read"),
    "request.received": _("Request received"),
    "request.replied": _("Reply sent"),
    "request.transitioned": _("Request status changed"),
    "seed.loaded": _("Invented data loaded"),
    "shelter.address_revealed": _("Shelter address revealed"),
    "shelter.created": _("Shelter created"),
    "shelter.transitioned": _("Shelter status changed"),
    "task.created": _("Task added"),
    "task.transitioned": _("Task status changed"),
    "task.updated": _("Task edited"),
    "token.created": _("API token created"),
    "token.revoked": _("API token revoked"),
    "travel.planned": _("Journey planned"),
    "travel.route_viewed": _("Journey route viewed"),
    "travel.transitioned": _("Journey status changed"),
    "travel.updated": _("Journey edited"),
    "user.created": _("Staff account created"),
    "user.demo_reset": _("Demo account reset"),
    "user.disabled": _("Staff account disabled"),
    "user.enabled": _("Staff account enabled"),
    "user.password_changed": _("Password changed"),
    "user.second_factor_reset": _("Second factor reset"),
    "user.unlocked": _("Staff account unlocked"),
    "verification.approved": _("Verification approved"),
    "verification.requested": _("Sent to verification"),
    "verification.returned": _("Verification returned to the verifier"),
    "verification.submitted": _("Verification submitted"),
}

OBJECTS: dict[str, Any] = {
    "application": _("Application"),
    "case": _("Case"),
    "document": _("Document"),
    "dossier_export": _("Dossier"),
    "intake_key": _("Intake key"),
    "note": _("Note"),
    "organization": _("Organization"),
    "pathway": _("Pathway"),
    "person": _("Person"),
    "placement": _("Placement"),
    "referral": _("Referral"),
    "request": _("Request"),
    "shelter": _("Shelter"),
    "task": _("Task"),
    "token": _("API token"),
    "travel": _("Journey"),
    "user": _("Staff account"),
    "verification": _("Verification"),
}

KEYS: dict[str, Any] = {
    "applicants": _("Applicants"),
    "applications": _("Applications"),
    "applicants_approved": _("Applicants approved"),
    "applicants_refused": _("Applicants refused"),
    "applicants_withdrawn": _("Applicants withdrawn"),
    "arrived_on": _("Arrived on"),
    "asks_for_info": _("Asks for information"),
    "assignee": _("Assignee"),
    "capacity": _("Capacity"),
    "capped": _("Cut at the limit"),
    "case_left": _("Case status left at"),
    "case_status": _("Case status"),
    "case_type": _("Type"),
    "checked": _("Events checked"),
    "closure_reason": _("Closure reason"),
    "confidential": _("Confidential from the household"),
    "count": _("Sessions"),
    "countries": _("Countries"),
    "country": _("Country"),
    "created": _("Created"),
    "deadline": _("Deadline"),
    "delay_seconds": _("Delay (seconds)"),
    "demo": _("Demo"),
    "doc_type": _("Document type"),
    "documents": _("Documents"),
    "download": _("Download"),
    "due": _("Due"),
    "end_reason": _("Reason"),
    "failures": _("Failed attempts"),
    "failures_since_last": _("Failed attempts since the last sign-in"),
    "field": _("Field"),
    "files": _("Files"),
    "fields": _("Fields"),
    "force": _("Forced"),
    "from": _("From"),
    "immediacy": _("Immediacy"),
    "interview_on": _("Interview on"),
    "journeys": _("Journeys"),
    "kdf_log2_n": _("Codename hashing cost"),
    "keys": _("Keys"),
    "kind": _("Kind"),
    "known_device": _("Known browser"),
    "language": _("Language"),
    "liaison": _("Partner liaison"),
    "list": _("List"),
    "locked": _("Locked"),
    "members": _("Travellers"),
    "minutes": _("Minutes"),
    "new": _("New"),
    "next_review": _("Next review"),
    "notes": _("Notes read"),
    "ok": _("Intact"),
    "on": _("On"),
    "outcome": _("Outcome"),
    "pathway": _("Pathway"),
    "people": _("People"),
    "placements_ended": _("Placements ended"),
    "priority": _("Priority"),
    "reason": _("Reason"),
    "received": _("Shares given"),
    "recommended_priority": _("Recommended priority"),
    "relationship": _("Relationship"),
    "reviewed": _("Reviewed on"),
    "rewrapped": _("Keys rewrapped"),
    "role": _("Role"),
    "rows": _("Rows"),
    "search": _("Search"),
    "seed": _("Seed"),
    "sessions_ended": _("Sessions ended"),
    "shares": _("Shares"),
    "shelter": _("Shelter"),
    "size": _("Size (bytes)"),
    "skipped": _("Skipped"),
    "slug": _("Pathway"),
    "stage": _("Step"),
    "state": _("State"),
    "status": _("Status"),
    "status_obtained": _("Status obtained"),
    "tasks": _("Tasks"),
    "tasks_cancelled": _("Tasks cancelled"),
    "tasks_closed": _("Tasks closed"),
    "threshold": _("Shares needed"),
    "to": _("To"),
    "travels_with": _("Travels with the household"),
    "updated": _("Updated"),
    "urgency": _("Urgency"),
    "user": _("Staff member"),
    "verifier": _("Verifier"),
    "visibility": _("Visible to"),
}

# Ids with no name a person would know: left out of the details (the API has the raw event).
HIDDEN_KEYS = frozenset({"application", "bad_seq", "case", "follow_up_task", "follows",
                         "message_id", "person", "person_id", "referral", "step", "task",
                         "version"})
USER_KEYS = frozenset({"assignee", "liaison", "user", "verifier"})
# Keys holding a staff member's id for some actions only ("to" is a status elsewhere).
USER_KEYS_OF: dict[str, frozenset[str]] = {"case.assigned": frozenset({"from", "to"})}


@cache
def _choice_tables() -> dict[str, Mapping[str, Any]]:
    """Every set of codes an event may carry, by name; imported late, since the audit log
    sits below every domain app."""
    def labels(choices: Any) -> dict[str, Any]:
        return dict(choices.choices)

    fields = {**dict(cases.PERSON_FIELDS), **labels(cases.SharedField),
              **dict(pathways.DOSSIER_APPLICATION_FIELDS),
              "summary": _("Summary"), "title": _("Task"), "assignee": _("Assignee"),
              "due": _("Due"), "priority": _("Priority"), "case_type": _("Type"),
              "profile": _("All details")}
    return {
        "case_status": labels(cases.Status), "task_status": labels(cases.TaskStatus),
        "request_status": labels(intake.Status), "urgency": labels(intake.Urgency),
        "placement_status": labels(housing.PlacementStatus),
        "shelter_status": labels(housing.ShelterStatus), "end_reason": labels(housing.EndReason),
        "application_status": labels(pathways.ApplicationStatus),
        "travel_status": labels(pathways.TravelStatus),
        "pathway_status": labels(pathways.PathwayStatus),
        "verification_state": labels(cases.VerificationState),
        "dossier_state": labels(pathways.DossierState), "date_kind": labels(pathways.DateKind),
        "priority": labels(cases.Priority), "risk": labels(cases.RiskLevel),
        "case_type": labels(cases.CaseType), "closure_reason": labels(cases.ClosureReason),
        "outcome": labels(cases.Outcome), "method": labels(cases.Method),
        "relationship": labels(cases.Relationship), "visibility": labels(cases.Visibility),
        "doc_type": labels(cases.DocType), "field": fields,
        "export_list": dict(LISTS),
        "search_kind": {"case_number": _("Case number"), "name_or_phone": _("Name or phone")},
        "second_factor": {"totp": _("Authenticator app"), "code": _("Authenticator app"),
                          "recovery_code": _("Recovery code"), "webauthn": _("Security key")},
        "status_obtained": labels(pathways.StatusObtained),
        "language": {"en": "English", "ru": "Русский"},
        # How someone signed in or confirmed who they are (accounts' events).
        "factor": {"totp": _("Authenticator app"), "recovery_code": _("Recovery code"),
                   "webauthn": _("Security key"), "code": _("Code"),
                   "session": _("Signed-in session")},
        "auth_stage": {"password": _("Password"), "second_factor": _("Second factor"),
                       "reauth": _("Confirming identity again"),
                       "password_change": _("Password change"),
                       "token_reauth": _("API token confirmation")},
    }


_STATUS_BY_PREFIX = {"case": "case_status", "task": "task_status", "request": "request_status",
                     "placement": "placement_status", "shelter": "shelter_status",
                     "application": "application_status", "travel": "travel_status",
                     "pathway": "pathway_status"}
_ACCOUNT_PREFIXES = frozenset({"auth", "token", "user"})
_TABLE_OF_KEY = {"priority": "priority", "recommended_priority": "priority",
                 "immediacy": "risk", "case_type": "case_type",
                 "closure_reason": "closure_reason", "outcome": "outcome", "methods": "method",
                 "relationship": "relationship", "visibility": "visibility",
                 "doc_type": "doc_type", "urgency": "urgency", "end_reason": "end_reason",
                 "kind": "date_kind", "field": "field", "fields": "field",
                 "status_obtained": "status_obtained",
                 "confidential": "field", "language": "language",
                 "list": "export_list", "search": "search_kind",
                 "case_status": "case_status", "case_left": "case_status"}


def _table(action: str, key: str) -> Mapping[str, Any] | None:
    tables = _choice_tables()
    prefix = action.split(".", 1)[0]
    if key in ("from", "to", "status"):
        name = _STATUS_BY_PREFIX.get(prefix)
        return tables[name] if name else None
    if prefix in _ACCOUNT_PREFIXES and key in ("kind", "stage"):
        return tables["factor" if key == "kind" else "auth_stage"]
    if key == "state":
        return tables["dossier_state" if prefix == "dossier" else "verification_state"]
    name = _TABLE_OF_KEY.get(key)
    return tables[name] if name else None


# --- one page of events, in words -----------------------------------------------------------------


@dataclass(frozen=True)
class Detail:
    label: str
    value: str


@dataclass
class Row:
    """One event as a person reads it. ``case_number`` is set when the event concerns a case
    (its own, or a note, task, person… of it); ``actor`` is a username or ""."""

    event: AuditEvent
    action: str
    actor: str
    object_label: str
    case_id: str = ""
    case_number: str = ""
    object_name: str = ""
    details: list[Detail] = field(default_factory=list)


def _uuids(values: Iterable[Any]) -> set[UUID]:
    found: set[UUID] = set()
    for value in values:
        try:
            found.add(UUID(str(value)))
        except ValueError:
            continue
    return found


def _user_keys(action: str) -> frozenset[str]:
    return USER_KEYS | USER_KEYS_OF.get(action, frozenset())


def _case_of(event: AuditEvent) -> str:
    if event.object_type == "case":
        return event.object_id
    value = event.data.get("case") if isinstance(event.data, dict) else None
    return str(value) if value else ""


@dataclass
class _Names:
    users: dict[str, str]
    cases: dict[str, str]
    shelters: dict[str, str]
    pathways: dict[str, str]
    countries: dict[str, str]


def _names(viewer: Any, perm: Perm, events: list[AuditEvent]) -> _Names:
    """The usernames, case numbers, shelter code names and pathway names ``events`` mention,
    read once for the page and only within the viewer's organization (``policy.org_scoped``)."""
    user_ids: set[Any] = set()
    case_ids: set[Any] = set()
    shelter_ids: set[Any] = set()
    slugs: set[str] = set()
    codes: set[str] = set()
    for e in events:
        data = e.data if isinstance(e.data, dict) else {}
        user_ids.add(e.actor_id)
        if e.object_type == "user":
            user_ids.add(e.object_id)
        user_ids.update(data.get(k) for k in _user_keys(e.action) if k in data)
        case_ids.add(_case_of(e))
        if e.object_type == "shelter":
            shelter_ids.add(e.object_id)
        shelter_ids.add(data.get("shelter"))
        if e.action == "application.created" and data.get("pathway"):
            slugs.add(str(data["pathway"]))
        if e.action == "pathway.updated" and data.get("slug"):
            slugs.add(str(data["slug"]))
        if e.action.startswith("travel.") and data.get("country"):
            codes.add(str(data["country"]))

    def read(model: Any, ids: set[Any], column: str) -> dict[str, str]:
        wanted = _uuids(i for i in ids if i)
        if not wanted:
            return {}
        rows = policy.org_scoped(viewer, perm, model.objects.filter(pk__in=wanted))
        return {str(pk): name for pk, name in rows.values_list("pk", column)}

    def local(model: Any, key: str, wanted: set[str]) -> dict[str, str]:
        """Reference names (pathways, countries: not personal data) in the reader's language."""
        if not wanted:
            return {}
        russian = get_language() == "ru"
        rows = model.objects.filter(**{f"{key}__in": wanted}).values_list(key, "name", "name_ru")
        return {k: (name_ru if russian and name_ru else name) for k, name, name_ru in rows}

    return _Names(users=read(User, user_ids, "username"), cases=read(Case, case_ids, "number"),
                  shelters=read(Shelter, shelter_ids, "code_name"),
                  pathways=local(Pathway, "slug", slugs), countries=local(Country, "code", codes))


def _value(action: str, key: str, value: Any, names: _Names) -> str | None:
    """``value`` of ``key`` in words, or None to leave it out."""
    if key in _user_keys(action):
        return names.users.get(str(value), "—") if value else "—"
    if key == "shelter":
        return names.shelters.get(str(value)) or None
    if key in ("pathway", "slug"):
        return names.pathways.get(str(value), str(value))
    if key == "country" and action.startswith("travel."):
        return names.countries.get(str(value), str(value))
    if key == "notes" and isinstance(value, list):
        return str(len(value))
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    table = _table(action, key)
    if isinstance(value, list):
        return ", ".join(str(table.get(str(v), v)) if table else str(v) for v in value) or "—"
    if value in (None, ""):
        return None
    return str(table.get(str(value), value)) if table else str(value)


def _details(event: AuditEvent, names: _Names) -> list[Detail]:
    data = event.data if isinstance(event.data, dict) else {}
    details = []
    for key, value in data.items():
        if key in HIDDEN_KEYS:
            continue
        shown = _value(event.action, key, value, names)
        if shown is not None:
            details.append(Detail(str(KEYS.get(key, key.replace("_", " "))), shown))
    return details


def action_label(action: str) -> str:
    """The action's name in the reader's language; the code itself when it has none yet."""
    label = ACTIONS.get(action)
    return str(label) if label is not None else action


def rows(events: Iterable[AuditEvent], *, viewer: Any, perm: Perm = Perm.AUDIT_READ
         ) -> list[Row]:
    """``events`` in words, for ``viewer``, whose ``perm`` (audit:read for the log, case:read
    for a case's history) scopes which names are looked up."""
    events = list(events)
    names = _names(viewer, perm, events)
    out = []
    for e in events:
        case_id = _case_of(e)
        object_name = ""
        if e.object_type == "user":
            object_name = names.users.get(e.object_id, "")
        elif e.object_type == "shelter":
            object_name = names.shelters.get(e.object_id, "")
        out.append(Row(
            event=e, action=action_label(e.action),
            actor=names.users.get(e.actor_id, "") if e.actor_id else "",
            object_label=str(OBJECTS.get(e.object_type, e.object_type.replace("_", " "))),
            case_id=case_id, case_number=names.cases.get(case_id, ""),
            object_name=object_name, details=_details(e, names)))
    return out

