"""/api/v1/requests: the operators' inbox as JSON (never the public site), under the same
policy and audit as the pages."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from haven.access.decorators import api_actor, api_reauth, api_requires
from haven.access.permissions import Perm
from haven.core.errors import Conflict, NotFound, ValidationFailed
from haven.core.pagination import paginate
from haven.intake import selectors, services
from haven.intake.models import Request

router = Router(tags=["requests"])


class RequestOut(Schema):
    id: UUID
    status: str
    urgency: str
    created_at: datetime
    closed_at: datetime | None
    awaiting_staff: bool
    person_id: UUID | None
    case_id: UUID | None


class MessageOut(Schema):
    id: UUID
    direction: str
    asks_for_info: bool
    created_at: datetime
    author: str
    body: str


class PayloadOut(Schema):
    contact: str
    region: str
    story: str
    urgency: str
    language: str


class RequestDetailOut(RequestOut):
    payload: PayloadOut
    messages: list[MessageOut]


class ReplyIn(Schema):
    body: str = Field(min_length=1, max_length=services.MAX_MESSAGE)
    ask_for_info: bool = False


class RequestTransitionIn(Schema):
    to: Literal["triaged", "needs_info", "referred", "declined", "duplicate", "suspicious",
                "spam"]


class ConvertIn(Schema):
    legal_name: str = Field(default="", max_length=300,
                            description="The new person's legal name (not needed with link_case)")
    other_names: str = Field(default="", max_length=1000)
    phone: str = Field(default="", max_length=64)
    link_case: UUID | None = Field(default=None, description="Link to this existing case "
                                   "instead of opening a new one")
    create_anyway: bool = Field(default=False, description="Open a new case even if a likely "
                                "existing one was found")



def _out(req: Request) -> RequestOut:
    return RequestOut(id=req.pk, status=req.status, urgency=req.urgency,
                      created_at=req.created_at, closed_at=req.closed_at,
                      awaiting_staff=req.awaiting_staff, person_id=req.person_id,
                      case_id=req.case_id)


@router.get("", response=list[RequestOut], summary="The inbox: open requests, most urgent first")
@api_requires(Perm.REQUEST_READ)
def request_list(request: HttpRequest, status: str = "") -> list[RequestOut]:
    page = paginate(request, selectors.request_list(user=api_actor(request), status=status[:16]),
                    per_page=50)
    return [_out(r) for r in page]


@router.get("/{request_id}", response=RequestDetailOut,
            summary="One request and its conversation, decrypted (needs an unsealed server "
                    "and a re-authenticated token)")
@api_reauth
@api_requires(Perm.REQUEST_READ)
def request_detail(request: HttpRequest, request_id: UUID) -> RequestDetailOut:
    actor = api_actor(request)
    opened = selectors.request_open(actor=actor,
                                    request=selectors.request_get(user=actor, pk=request_id))
    base = _out(opened.request)
    return RequestDetailOut(
        **base.dict(),
        payload=PayloadOut(**vars(opened.payload)),
        messages=[MessageOut(**vars(m)) for m in opened.messages],
    )


@router.post("/{request_id}/reply", response={201: MessageOut},
             summary="Reply (optionally asking for more information)")
@api_requires(Perm.REQUEST_REPLY)
def request_reply(request: HttpRequest, request_id: UUID, body: ReplyIn
                  ) -> Status[MessageOut]:
    actor = api_actor(request)
    req = selectors.request_get(user=actor, pk=request_id)
    message = services.request_reply(actor=actor, request=req, body=body.body,
                                     ask_for_info=body.ask_for_info)
    return Status(201, MessageOut(id=message.pk, direction=message.direction,
                                  asks_for_info=message.asks_for_info,
                                  created_at=message.created_at, author=actor.username,
                                  body=body.body.strip()))


@router.post("/{request_id}/transition", response=RequestOut,
             summary="Move a request along its lifecycle (409 if not allowed)")
@api_requires(Perm.REQUEST_TRIAGE)
def request_transition(request: HttpRequest, request_id: UUID, body: RequestTransitionIn
                       ) -> RequestOut:
    actor = api_actor(request)
    req = selectors.request_get(user=actor, pk=request_id)
    return _out(services.request_transition(actor=actor, request=req, to=body.to))


@router.post("/{request_id}/convert", response=RequestOut,
             summary="Accept as a case in one step: open the case and its person from the "
                     "request (or link to a likely existing case), and link the conversation. "
                     "409 names likely existing cases unless link_case or create_anyway "
                     "(a re-authenticated token: the story is carried into the case)")
@api_reauth
@api_requires(Perm.REQUEST_TRIAGE)
def request_convert(request: HttpRequest, request_id: UUID, body: ConvertIn) -> RequestOut:
    actor = api_actor(request)
    req = selectors.request_get(user=actor, pk=request_id)
    link = None
    if body.link_case is not None:
        link = selectors.visible_case(actor=actor, pk=body.link_case)
        if link is None:
            raise NotFound("Not found.")
    elif not body.legal_name.strip():
        raise ValidationFailed("A legal name is needed to open a case.",
                               fields={"legal_name": ["A legal name is needed to open a case."]})
    elif not body.create_anyway:
        matches = selectors.likely_existing(actor=actor, legal_name=body.legal_name,
                                            phone=body.phone)
        if matches:
            raise Conflict("Likely existing case(s): " + ", ".join(
                f"{m.case.number} ({m.case.pk}, same {m.by})" for m in matches)
                + ". Send link_case to link to one, or create_anyway to open a new case.")
    accepted = services.request_accept(actor=actor, request=req, legal_name=body.legal_name,
                                       other_names=body.other_names, phone=body.phone,
                                       link_case=link)
    return _out(accepted.request)
