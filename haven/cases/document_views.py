"""A person's documents on the case page: uploading (sealed as it streams in) and downloading."""

from __future__ import annotations

from typing import cast
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from haven.access import policy
from haven.access.decorators import requires
from haven.access.permissions import Perm
from haven.accounts.decorators import reauth_required
from haven.cases import document_selectors, selectors, services
from haven.cases.models import Case
from haven.cases.views import case_or_404, document_form, to_case
from haven.core.csrf import csrf_first_unless, csrf_protect, csrf_refusal
from haven.core.errors import HavenError, NotFound, ValidationFailed
from haven.keyring import files, keys
from haven.pathways.selectors import application_get


def _may_upload(request: HttpRequest) -> bool:
    return bool(request.user.is_authenticated
                and policy.has_perm(request.user, Perm.DOCUMENT_UPLOAD))


@csrf_exempt  # CSRF is checked below: after the encrypting upload handler is installed, or
@csrf_first_unless(_may_upload)  # first of all when the upload cannot go ahead anyway
@requires(Perm.DOCUMENT_UPLOAD)
@require_POST
def document_upload(request: HttpRequest, pk: UUID) -> HttpResponse:
    try:
        case = selectors.case_get(actor=request.user, pk=pk)
    except NotFound:
        refused = csrf_refusal(request)
        if refused is not None:
            return refused
        raise Http404 from None
    handler = files.EncryptingUploadHandler(request, data_key=keys.data_key_for(case),
                                            owner=case.keyring_owner())
    request.upload_handlers = [handler]
    return _document_store(request, case, handler)


@csrf_protect
def _document_store(request: HttpRequest, case: Case, handler: files.EncryptingUploadHandler
                    ) -> HttpResponse:
    uploads = [u for u in request.FILES.getlist("file") if isinstance(u, files.EncryptedUpload)]
    if len(uploads) != 1:
        handler.abort()
        messages.error(request, _("Choose exactly one file."))
        return to_case(case.pk, "documents")
    form = document_form(request, case, request.POST)
    try:
        if not form.is_valid():
            raise ValidationFailed(_("Say whose document this is and of which type."))
        data = form.cleaned_data
        member = selectors.member_get(actor=request.user, case=case, person_id=data["person"])
        application = None
        if data.get("application"):
            application = application_get(actor=request.user, pk=data["application"])
        services.document_attach(actor=request.user, case=case, upload=uploads[0],
                                 doc_type=data["doc_type"], person=member.person,
                                 application=application)
    except HavenError as exc:
        handler.abort()
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Document stored, encrypted."))
    return to_case(case.pk, "documents")


@requires(Perm.DOCUMENT_READ)
@require_GET
@reauth_required  # a document is handed out decrypted (issue 13, item 5)
def document_download(request: HttpRequest, pk: UUID, document_id: UUID) -> HttpResponse:
    case = case_or_404(request, pk)
    try:
        doc = document_selectors.document_get(actor=request.user, case=case, document_id=document_id)
    except NotFound:
        raise Http404 from None
    response = StreamingHttpResponse(document_selectors.document_open(actor=request.user, doc=doc),
                                     content_type="application/octet-stream")
    response["Content-Length"] = str(doc.size)
    response["Content-Disposition"] = f'attachment; filename="{doc.pk}"'
    # The access decorators are typed for HttpResponse; Django serves a streamed one alike.
    return cast("HttpResponse", response)
