"""Reads of pathways: the reference list, one pathway, and the ranking of where a case may apply."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from haven.access import policy
from haven.access.permissions import Perm
from haven.cases.models import Case, DocType, Document, Member, PersonProfile, Status
from haven.core.errors import NotFound
from haven.keyring import keys
from haven.pathways.models import (
    Application,
    ApplicationStatus,
    Pathway,
    PathwayStatus,
    ReferrerKind,
)
from haven.pathways.nationality import nationality_codes
from haven.pathways.selectors.outcomes import PathwayOutcome, pathway_outcomes

AS = ApplicationStatus
# Below this many decisions a pathway's approval rate says too little to move the ranking.
MIN_DECISIONS = 3


# --- pathways ------------------------------------------------------------------------------------


def pathway_list(*, actor: Any, country: str = "", status: str = "", kind: str = ""
                 ) -> QuerySet[Pathway]:
    """Reference pathways, by country and name; filtered by country code, status, type (``kind``)."""
    qs = policy.pathways_visible_to(actor, Pathway.objects.all()).select_related("country").order_by(
        "country__name", "name")
    if country:
        qs = qs.filter(country__code=country.upper())
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(type=kind)
    return qs


def pathway_get(*, actor: Any, slug: str) -> Pathway:
    pathway = policy.pathways_visible_to(actor, Pathway.objects.all()).select_related("country", "edited_by").filter(
        slug=slug).first()
    if pathway is None:
        raise NotFound("Not found.")
    return pathway


@dataclass
class Reason:
    """One line of why a pathway fits or not: ``kind`` is fit, misfit or unknown."""

    text: str
    kind: str


@dataclass
class PathwayFit:
    pathway: Pathway
    score: int
    reasons: list[Reason]
    outcome: PathwayOutcome
    applications: list[Application] = field(default_factory=list)

    @property
    def fits(self) -> list[str]:
        return [r.text for r in self.reasons if r.kind == "fit"]

    @property
    def misfits(self) -> list[str]:
        return [r.text for r in self.reasons if r.kind == "misfit"]

    @property
    def unknowns(self) -> list[str]:
        return [r.text for r in self.reasons if r.kind == "unknown"]


STATUS_RANK = {PathwayStatus.OPEN: 0, PathwayStatus.PAUSED: 1, PathwayStatus.CLOSED: 2}
# Evidence that the household is already outside the country of persecution.
THIRD_COUNTRY_DOCS = (DocType.RESIDENCE_PROOF, DocType.TRAVEL_DOCUMENT)


def _nationality_reason(pathway: Pathway, nationalities: list[set[str]]) -> tuple[int, Reason]:
    """Nationality against the pathway's list. A member whose nationality is not recorded is
    something to check, never a misfit: only a recorded nationality outside the list is."""
    wanted = set(pathway.nationalities)
    if not wanted:
        return 20, Reason(_("Open to any nationality"), "fit")
    needs = ", ".join(sorted(wanted))
    n = len(nationalities)
    known = [codes for codes in nationalities if codes]
    unknown = n - len(known)
    fitting = sum(1 for codes in known if codes & wanted)
    misfits = len(known) - fitting
    if fitting == n:
        return 30, Reason(_("Nationality fits for every applicant (needs %(codes)s)") % {
            "codes": needs}, "fit")
    if not misfits:
        if fitting:
            return 10, Reason(_("Nationality fits for %(k)d of %(n)d members and is not "
                                "recorded for %(u)d (needs %(codes)s)") % {
                "k": fitting, "n": n, "u": unknown, "codes": needs}, "unknown")
        return 0, Reason(_("Nationality not recorded for %(k)d of %(n)d members (needs "
                           "%(codes)s)") % {"k": unknown, "n": n, "codes": needs}, "unknown")
    if fitting:
        return 10, Reason(_("Nationality fits for %(k)d of %(n)d members (needs %(codes)s)") % {
            "k": fitting, "n": n, "codes": needs}, "misfit")
    if unknown:
        return 0, Reason(_("Nationality does not fit for %(k)d of %(n)d members and is not "
                           "recorded for %(u)d (needs %(codes)s)") % {
            "k": misfits, "n": n, "u": unknown, "codes": needs}, "misfit")
    return -40, Reason(_("No member has an eligible nationality (needs %(codes)s)") % {
        "codes": needs}, "misfit")


def _documents_reason(pathway: Pathway, held: set[str]) -> tuple[int, Reason]:
    required = list(pathway.documents_required)
    if not required:
        return 20, Reason(_("No documents required at the outset"), "fit")
    have = [d for d in required if d in held]
    missing = [str(DocType(d).label) for d in required if d not in held]
    points = 20 * len(have) // len(required)
    if not missing:
        return points, Reason(_("All %(n)d required documents are on file") % {
            "n": len(required)}, "fit")
    return points, Reason(_("Documents on file: %(k)d of %(n)d (missing: %(missing)s)") % {
        "k": len(have), "n": len(required), "missing": ", ".join(missing)}, "misfit")


def _third_country_reason(pathway: Pathway, outside: bool | None) -> tuple[int, Reason]:
    if not pathway.requires_third_country:
        return 15, Reason(_("Can be used from inside the country of persecution"), "fit")
    if outside is True:
        return 15, Reason(_("Needs presence in a third country: the household is outside"),
                          "fit")
    if outside is False:
        return -30, Reason(_("Needs presence in a third country: the household is not "
                             "outside yet"), "misfit")
    return 0, Reason(_("Needs presence in a third country: not known whether the household "
                       "is outside"), "unknown")


def _referrer_reason(pathway: Pathway) -> tuple[int, Reason]:
    if pathway.referrer_kind == ReferrerKind.NONE:
        return 10, Reason(_("No referral or sponsor needed"), "fit")
    return 0, Reason(_("Needs a referral or sponsor: %(kind)s") % {
        "kind": ReferrerKind(pathway.referrer_kind).label}, "unknown")


def _record_reason(outcome: PathwayOutcome) -> tuple[int, Reason | None]:
    rate = outcome.approval_rate
    if rate is None or outcome.decided < MIN_DECISIONS:
        return 0, None
    return round(10 * rate), Reason(_("Here: %(approved)d of %(decided)d decided applications "
                                      "approved") % {"approved": outcome.approved,
                                                     "decided": outcome.decided}, "fit"
                                    if rate >= 0.5 else "misfit")


def case_third_country(case: Case) -> bool | None:
    """Is the household known to be outside the country of persecution? True when the case
    has departed or arrived, or holds a proof of stay or a refugee travel document; otherwise
    unknown (None) — Haven does not record a current country, so it never claims "inside"."""
    if case.status in (Status.DEPARTED, Status.ARRIVED):
        return True
    if Document.objects.filter(case=case, doc_type__in=THIRD_COUNTRY_DOCS).exists():
        return True
    return None


def pathway_ranking(*, actor: Any, case: Case, in_third_country: bool | None = None,
                    include_closed: bool = False) -> list[PathwayFit]:
    """Where this case could apply: pathways ranked, each with its reasons and this
    organization's observed outcomes on it.

    Order: open pathways first, then paused, then (only with ``include_closed``) closed;
    within each, by score (highest first), then typical processing days (fastest first,
    unknown last), then slug — so the same data always gives the same order.

    The score adds, for the members who travel with the household (all members when none
    is marked):

    - nationality (profiles, decrypted in memory, never shown): any nationality +20; every
      member eligible +30; some +10; none eligible −40; not recorded 0 ("unknown");
    - documents required at the outset held by the case: 20 × held / required (+20 when
      none is required);
    - presence in a third country: not required +15 (usable from inside); required and
      outside +15; required and known not outside (``in_third_country=False``) −30;
      required and unknown 0 — ``in_third_country`` None reads it from the case
      (``case_third_country``);
    - referrer: none needed +10; else 0, with who must refer or sponsor;
    - track record: with at least ``MIN_DECISIONS`` decisions here, + 10 × approval rate.

    The figures are a starting point for a caseworker's judgement, not a verdict: a
    pathway with a misfit stays on the list with its reason.
    """
    case = _visible_case(actor, case)
    if not policy.has_perm(actor, Perm.PATHWAY_READ):
        return []
    pathways = list(Pathway.objects.select_related("country").order_by("slug")
                    if include_closed else
                    Pathway.objects.select_related("country").exclude(
                        status=PathwayStatus.CLOSED).order_by("slug"))
    members = list(Member.objects.filter(case=case).select_related("person"))
    members = [m for m in members if m.travels_with] or members
    profiles = list(PersonProfile.objects.filter(person__in=[m.person_id for m in members]))
    keys.prefetch(profiles)
    by_person = {p.person_id: p for p in profiles}
    nationalities = [nationality_codes(str(by_person[m.person_id].nationality))
                     if m.person_id in by_person else set() for m in members]
    held = set(Document.objects.filter(case=case).values_list("doc_type", flat=True))
    outside = in_third_country if in_third_country is not None else case_third_country(case)
    outcomes = pathway_outcomes(actor=actor, pathways=pathways)
    mine: dict[Any, list[Application]] = defaultdict(list)
    for application in Application.objects.filter(case=case).order_by("-created_at"):
        mine[application.pathway_id].append(application)
    fits = []
    for pathway in pathways:
        outcome = outcomes.get(pathway.pk, PathwayOutcome())
        parts = [_nationality_reason(pathway, nationalities), _documents_reason(pathway, held),
                 _third_country_reason(pathway, outside), _referrer_reason(pathway)]
        points, reasons = sum(p for p, _r in parts), [r for _p, r in parts]
        record_points, record_reason = _record_reason(outcome)
        if record_reason is not None:
            points += record_points
            reasons.append(record_reason)
        if pathway.status != PathwayStatus.OPEN:
            reasons.insert(0, Reason(_("%(status)s since %(since)s") % {
                "status": PathwayStatus(pathway.status).label,
                "since": pathway.status_since.isoformat() if pathway.status_since else "?"},
                "misfit"))
        for application in mine.get(pathway.pk, []):
            reasons.append(Reason(_("This case already applied: %(status)s") % {
                "status": AS(application.status).label.lower()}, "unknown"))
        fits.append(PathwayFit(pathway=pathway, score=points, reasons=reasons, outcome=outcome,
                               applications=mine.get(pathway.pk, [])))
    fits.sort(key=lambda f: (STATUS_RANK[PathwayStatus(f.pathway.status)], -f.score,
                             f.pathway.processing_days_typical is None,
                             f.pathway.processing_days_typical or 0, f.pathway.slug))
    return fits


def _visible_case(actor: Any, case: Case) -> Case:
    found = policy.cases_visible_to(actor, Case.objects.all()).filter(pk=case.pk).first()
    if found is None:
        raise NotFound("Not found.")
    return found
