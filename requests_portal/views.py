"""The public pages: the home page, a form for each right, the page after sending, the status
page of a request and its steps, the verification link.

Views are thin: a form reads what was typed, a service does the work, and every POST ends in a
redirect (303) with a message (post, redirect, get: a reload never posts twice, no JavaScript).

Enumeration: a valid request form is answered by the same redirect to the same fixed page,
whether the address is known to JUNOPOS or not, whether the request was made now, was already
made (the same submission key), or was a robot's (the honeypot): byte for byte, with no
session or message written.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import pagecache, ratelimits, services
from .exceptions import RequestError
from .formatting import format_due
from .forms import AnswerForm, CodeForm, RequestForm, ResendForm, WithdrawForm, new_submission_key
from .models import DataSubjectRequest, Right, State
from .notifications import public_id_from_token, read_verify_link, request_from_token, status_token
from .pages import form_promise, status_context
from .rights import RIGHTS, RIGHTS_BY_KEY, data_categories
from .services.intake import MAX_ATTACHMENT_BYTES
from .uploads import cap_uploads


class SeeOther(HttpResponseRedirect):
    status_code = 303


def home(request):
    return render(request, "portal/home.html", {"rights": RIGHTS, "categories": data_categories()})


def csrf_failure(request, reason: str = ""):
    """A form refused by the CSRF check (settings.CSRF_FAILURE_VIEW): what to do, in the page's language."""
    return render(request, "portal/csrf_failure.html", status=403)


def rate_limited(request, limited: ratelimits.Limited):
    """The page of a limited person: when to try again, in their language (status 429)."""
    retry_at = timezone.now() + timedelta(seconds=limited.retry_after)
    minutes = max(1, -(-limited.retry_after // 60))
    response = render(
        request, "portal/rate_limited.html", {"retry_at": format_due(retry_at), "minutes": minutes}, status=429,
    )
    response["Retry-After"] = str(limited.retry_after)
    return response


# -- the request forms -------------------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "POST"])
def request_form(request, right: str):
    # Before the CSRF check reads the body: uploads held in memory, never beyond the limit.
    cap_uploads(request, fields=["authorisation"], limit=MAX_ATTACHMENT_BYTES)
    return _request_form(request, right)


@csrf_protect
def _request_form(request, right: str):
    if right not in Right.values:
        raise Http404
    if request.method == "POST":
        if limited := ratelimits.limit_submission_ip(request):
            return rate_limited(request, limited)
        form = RequestForm(request.POST, request.FILES, right=right)
        if form.honeypot_filled:
            return SeeOther(reverse("portal:request_sent"))  # as a success, and nothing made
        if form.is_valid():
            if limited := ratelimits.limit_submission_addresses(request, addresses=form.addresses()):
                return rate_limited(request, limited)
            try:
                services.request_submit(language=translation.get_language(), **form.submission())
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                return SeeOther(reverse("portal:request_sent"))
    elif not request.GET:
        # The empty form is the same for everyone: kept rendered, the visitor's keys put in.
        key = pagecache.form_key(right, translation.get_language())
        return pagecache.cached_page(
            request, key, lambda: _form_page(request, right, RequestForm(right=right)), ttl=pagecache.FORM_TTL,
            new_submission_key=new_submission_key,
        )
    else:
        initial = {"appeal_reference": request.GET.get("ref", "")[:40]} if right == Right.APPEAL else {}
        form = RequestForm(initial=initial, right=right)
    return _form_page(request, right, form)


def _form_page(request, right: str, form):
    context = {
        "form": form,
        "right": RIGHTS_BY_KEY.get(right),
        "right_key": right,
        "promise": form_promise(right),
    }
    return render(request, "portal/request_form.html", context)


@require_GET
def request_sent(request):
    key = pagecache.page_key("sent", translation.get_language())
    return pagecache.cached_page(request, key, lambda: render(request, "portal/request_sent.html"), ttl=pagecache.FORM_TTL)


# -- the status page and its steps -----------------------------------------------------------


def _request_or_404(token: str) -> DataSubjectRequest:
    found = request_from_token(token)
    if found is None:
        raise Http404
    return found


def _back(token: str) -> SeeOther:
    return SeeOther(reverse("portal:request_status", args=[token]))


def _first_error(form) -> str:
    for errors in form.errors.values():
        return errors[0]
    return _("Periksa isian Anda.")


@require_GET
def request_status(request, token: str):
    public_id = public_id_from_token(token)
    if public_id is None:
        raise Http404

    def page():
        dsr = _request_or_404(token)
        context = status_context(dsr)
        context.update(
            token=token, code_form=CodeForm(), answer_form=AnswerForm(), withdraw_form=WithdrawForm(),
            appeal_url=reverse("portal:request_form", args=[Right.APPEAL]) + f"?ref={dsr.reference}",
        )
        return render(request, "portal/request_status.html", context)

    key = pagecache.status_key(public_id, translation.get_language())
    return pagecache.cached_page(request, key, page, ttl=pagecache.STATUS_TTL)


def _step(request, token: str, *, step: str, form_class, run, done: str):
    """One step of the status page: limit, read the form, call the service, say how it went."""
    dsr = _request_or_404(token)
    if limited := ratelimits.limit_step(request, step=step, request_id=dsr.pk):
        return rate_limited(request, limited)
    form = form_class(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return _back(token)
    try:
        result = run(dsr, form.cleaned_data)
    except RequestError as error:
        messages.error(request, error.message)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, done(result) if callable(done) else done)
    return _back(token)


def _proven(result: DataSubjectRequest) -> str:
    if result.state == State.SUBMITTED:
        return _("Terima kasih: alamat ini terbukti. Buktikan juga alamat Anda yang lain.")
    if result.state == State.VERIFIED:
        return _("Terima kasih: identitas Anda terverifikasi. Tenggat kami mulai berjalan.")
    return _("Terima kasih: alamat Anda terbukti.")


@require_POST
def request_status_code(request, token: str):
    return _step(
        request, token, step="code", form_class=CodeForm,
        run=lambda dsr, data: services.request_verify(request_id=dsr.pk, via=data["via"], code=data["code"]),
        done=_proven,
    )


@require_POST
def request_status_resend(request, token: str):
    return _step(
        request, token, step="resend", form_class=ResendForm,
        run=lambda dsr, data: services.request_code_resend(request_id=dsr.pk, via=data["via"]),
        done=_("Kode baru telah dikirim. Kode yang lama tidak berlaku lagi."),
    )


@csrf_exempt
@require_POST
def request_status_answer(request, token: str):
    cap_uploads(request, fields=["attachment"], limit=MAX_ATTACHMENT_BYTES)
    return _request_status_answer(request, token)


@csrf_protect
def _request_status_answer(request, token: str):
    return _step(
        request, token, step="answer", form_class=AnswerForm,
        run=lambda dsr, data: services.request_answer(request_id=dsr.pk, text=data["text"], attachment=data["attachment"]),
        done=_("Jawaban Anda telah kami terima. Tenggat kami berjalan kembali."),
    )


@require_POST
def request_status_withdraw(request, token: str):
    return _step(
        request, token, step="withdraw", form_class=WithdrawForm,
        run=lambda dsr, data: services.request_withdraw(request_id=dsr.pk),
        done=_("Permintaan Anda telah dibatalkan."),
    )


# -- the verification link -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def request_verify_link(request, token: str):
    """GET only asks to confirm (mail scanners open links); POST proves the address."""
    link = read_verify_link(token)
    dsr = DataSubjectRequest.objects.filter(public_id=link["r"]).first() if link else None
    if dsr is None:
        raise Http404
    if request.method == "GET":
        return render(request, "portal/request_verify.html", {"dsr": dsr})
    if limited := ratelimits.limit_step(request, step="link", request_id=dsr.pk):
        return rate_limited(request, limited)
    try:
        result = services.request_verify(request_id=dsr.pk, via=link["v"], link_secret=link["s"])
    except RequestError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _proven(result))
    return _back(status_token(dsr))
