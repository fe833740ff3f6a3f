"""The public pages of consent: the privacy policy (current and older versions), the preference
centre, and the one-click unsubscribe of marketing e-mails.

The preference centre is three steps, every POST answered by a redirect (303):
1. /preferensi/: an e-mail or phone (and a shop, for that shop's marketing); a code is sent,
   the same way whether the address is known or not; the session remembers the address.
2. /preferensi/kode/: the code; when it matches, the session (given a new key) holds the proven
   address for PREFERENCE_SESSION_LIFETIME.
3. /preferensi/pilihan/: each purpose with its basis, what it uses and her state; the purposes
   on consent or legitimate interest switch, the others say why they cannot.

The unsubscribe link works without login or CSRF token (a mail client posts it, RFC 8058): its
signature is the proof, and it names the outbox message it came in, never the address. GET only
shows a button (mail scanners open links); POST withdraws.
"""

from __future__ import annotations

import re
from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from consent.models import LegalBasis, PolicyVersion
from consent.selectors import Reason, policy_current, policy_versions_published
from consent.selectors import purposes_by_key
from consent.services import SubjectRef, marketing_unsubscribe, unsubscribe_read
from merchants.models import Merchant
from retention.registry import Category

from . import ratelimits, services
from .exceptions import RequestError
from .formatting import format_due
from .pages import mask_address
from .services.preferences import PREFERENCE_SESSION_LIFETIME, ProvenAddress

PENDING = "preferences.pending"
PROVEN = "preferences.proven"


class SeeOther(HttpResponseRedirect):
    status_code = 303


def _language() -> str:
    return (translation.get_language() or "id")[:2]


# -- the policy ----------------------------------------------------------------------------------

NUMBERED = re.compile(r"^\s*(\d+)[.)]\s+(.*)$")
BULLET = re.compile(r"^\s*[•\-*]\s+(.*)$")


def policy_blocks(text: str) -> list[dict]:
    """The policy's plain text as blocks a page renders: headings (a short line alone),
    paragraphs (their line breaks kept), numbered lists (their numbers kept) and bullet lists
    (an indented block after a bullet continues it)."""
    blocks: list[dict] = []
    for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        lines = [line for line in chunk.split("\n") if line.strip()]
        if not lines:
            continue
        if all(NUMBERED.match(line) for line in lines):
            items = [NUMBERED.match(line) for line in lines]
            blocks.append({"kind": "ol", "start": int(items[0].group(1)), "items": [m.group(2).strip() for m in items]})
        elif BULLET.match(lines[0]):
            if blocks and blocks[-1]["kind"] == "ul":
                blocks[-1]["items"].append([BULLET.match(lines[0]).group(1).strip()] + [x.strip() for x in lines[1:]])
            else:
                blocks.append({"kind": "ul", "items": [[BULLET.match(lines[0]).group(1).strip()] + [x.strip() for x in lines[1:]]]})
        elif lines[0].startswith("  ") and blocks and blocks[-1]["kind"] == "ul":
            blocks[-1]["items"][-1].extend(line.strip() for line in lines)
        elif len(lines) == 1 and len(lines[0]) <= 80 and not lines[0].rstrip().endswith((".", ":", ";", ",", "?")):
            blocks.append({"kind": "h", "text": lines[0].strip()})
        else:
            blocks.append({"kind": "p", "lines": [line.strip() for line in lines]})
    # The text's own title is the page's h1.
    if blocks and blocks[0]["kind"] == "h":
        blocks = blocks[1:]
    return blocks


def _version_row(version: PolicyVersion, current: PolicyVersion | None, now: datetime) -> dict:
    return {
        "version": version.version, "effective": format_due(version.effective_at),
        "is_current": current is not None and version.pk == current.pk,
        "upcoming": version.effective_at > now,
        "url": reverse("portal:policy_version", args=[version.version]),
    }


def _policy_page(request, version: PolicyVersion | None):
    now = timezone.now()
    current = policy_current(at=now)
    language = _language()
    context = {
        "version": version, "current": current, "language": language,
        "versions": [_version_row(v, current, now) for v in policy_versions_published()],
    }
    if version is not None:
        context.update(
            blocks=policy_blocks(version.text(language)), summary=version.summary(language),
            effective=format_due(version.effective_at),
            published=format_due(version.published_at) if version.published_at else "",
            is_current=current is not None and version.pk == current.pk,
            upcoming=version.effective_at > now,
        )
    return render(request, "portal/policy.html", context)


@require_GET
def policy(request):
    return _policy_page(request, policy_current())


@require_GET
def policy_version(request, version: str):
    found = PolicyVersion.objects.filter(version=version, published_at__isnull=False).first()
    if found is None:
        raise Http404
    return _policy_page(request, found)


# -- the preference centre -------------------------------------------------------------------


class PreferenceStartForm(forms.Form):
    email = forms.CharField(
        label=gettext_lazy("E-mail"), required=False, max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )
    phone = forms.CharField(
        label=gettext_lazy("Atau nomor ponsel"), required=False, max_length=32,
        help_text=gettext_lazy("Contoh: 0812 3456 7890. Kode dikirim lewat pesan ke nomor ini."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "type": "tel"}),
    )
    shop_name = forms.CharField(
        label=gettext_lazy("Nama toko"), required=False, max_length=200,
        help_text=gettext_lazy(
            "Untuk promosi dari toko tempat Anda berbelanja: tulis namanya seperti di struk. "
            "Kosongkan untuk pilihan Anda terhadap JUNOPOS sendiri."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shop_name"].optional_marker = True
        self.address: ProvenAddress | None = None
        self.merchant: Merchant | None = None

    def clean(self):
        cleaned = super().clean()
        try:
            self.address = services.preference_address(email=cleaned.get("email", ""), phone=cleaned.get("phone", ""))
        except RequestError as error:
            field = "phone" if (cleaned.get("phone") and not cleaned.get("email")) else "email"
            self.add_error(field, error.message)
        name = (cleaned.get("shop_name") or "").strip()
        if name:
            shops = list(Merchant.objects.filter(business_name__iexact=name, churned_at__isnull=True).only("pk", "business_name")[:2])
            if len(shops) != 1:
                self.add_error("shop_name", _(
                    "Kami tidak menemukan toko dengan nama itu. Tulis namanya persis seperti di struk, atau kosongkan."
                ))
            else:
                self.merchant = shops[0]
        return cleaned


class PreferenceCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Kode 6 angka"), max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "class": "input--code"}),
        error_messages={"required": gettext_lazy("Tulis kode yang kami kirim.")},
    )


def _pending(request) -> tuple[ProvenAddress, int | None] | None:
    held = request.session.get(PENDING)
    if not isinstance(held, dict):
        return None
    return ProvenAddress(held["via"], held["address"]), held.get("merchant")


def _proven(request) -> SubjectRef | None:
    """The subject whose address this session proved, while the time allowed lasts."""
    held = request.session.get(PROVEN)
    if not isinstance(held, dict) or timezone.now().timestamp() > held.get("until", 0):
        return None
    email = held["address"] if held["via"] == "email" else None
    phone = None if email else held["address"]
    return SubjectRef(email=email, phone=phone, merchant_id=held.get("merchant"))


def _rate_limited(request, limited):
    from .views import rate_limited

    return rate_limited(request, limited)


@require_http_methods(["GET", "POST"])
def preferences_start(request):
    if request.method == "POST":
        if limited := ratelimits.limit_by_ip(request, group="preferences.send", rate=settings.RATELIMIT_SUBMIT_PER_IP):
            return _rate_limited(request, limited)
        form = PreferenceStartForm(request.POST)
        if form.is_valid():
            address = form.address
            if limited := ratelimits.limit_by_values(
                request, group="preferences.send.address", values=[f"{address.via}:{address.address}"],
                rate=settings.RATELIMIT_SUBMIT_PER_ADDRESS,
            ):
                return _rate_limited(request, limited)
            try:
                services.preference_code_send(address=address, language=_language())
            except RequestError as error:
                form.add_error(None, error.message)
            else:
                request.session[PENDING] = {
                    "via": address.via, "address": address.address,
                    "merchant": form.merchant.pk if form.merchant else None,
                }
                request.session.pop(PROVEN, None)
                return SeeOther(reverse("portal:preferences_code"))
    else:
        form = PreferenceStartForm()
    return render(request, "portal/preferences_start.html", {"form": form})


def _code_context(address: ProvenAddress, form) -> dict:
    via_name = {"email": _("e-mail"), "sms": "SMS", "whatsapp": "WhatsApp"}.get(address.via, address.via)
    return {
        "form": form, "masked": mask_address("email" if address.is_email else address.via, address.address),
        "via_name": via_name,
    }


@require_http_methods(["GET", "POST"])
def preferences_code(request):
    pending = _pending(request)
    if pending is None:
        messages.error(request, _("Mulai dengan alamat e-mail atau nomor ponsel Anda."))
        return SeeOther(reverse("portal:preferences"))
    address, merchant_id = pending
    if request.method == "POST":
        if limited := _step_limit(request, step="code", address=address):
            return _rate_limited(request, limited)
        form = PreferenceCodeForm(request.POST)
        if form.is_valid():
            try:
                services.preference_code_verify(address=address, code=form.cleaned_data["code"])
            except RequestError as error:
                form.add_error("code", error.message)
            else:
                request.session.cycle_key()  # a proven session gets a key no one saw before
                request.session.pop(PENDING, None)
                request.session[PROVEN] = {
                    "via": address.via, "address": address.address, "merchant": merchant_id,
                    "until": (timezone.now() + PREFERENCE_SESSION_LIFETIME).timestamp(),
                }
                return SeeOther(reverse("portal:preferences_choices"))
    else:
        form = PreferenceCodeForm()
    return render(request, "portal/preferences_code.html", _code_context(address, form))


def _step_limit(request, *, step: str, address: ProvenAddress):
    return ratelimits._first(
        ratelimits.limit_by_ip(request, group=f"preferences.{step}", rate=settings.RATELIMIT_STEP_PER_IP),
        ratelimits.limit_by_values(
            request, group=f"preferences.{step}.address", values=[f"{address.via}:{address.address}"],
            rate=settings.RATELIMIT_STEP_PER_REQUEST,
        ),
    )


@require_POST
def preferences_resend(request):
    pending = _pending(request)
    if pending is None:
        return SeeOther(reverse("portal:preferences"))
    address, _merchant = pending
    if limited := _step_limit(request, step="resend", address=address):
        return _rate_limited(request, limited)
    try:
        services.preference_code_send(address=address, language=_language())
    except RequestError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Kode baru telah dikirim. Kode yang lama tidak berlaku lagi."))
    return SeeOther(reverse("portal:preferences_code"))


BASIS_WHY = {
    LegalBasis.CONTRACT: gettext_lazy(
        "Tidak dapat dimatikan: JUNOPOS memerlukannya untuk menjalankan layanan yang Anda atau toko Anda gunakan."
    ),
    LegalBasis.LEGAL_OBLIGATION: gettext_lazy(
        "Tidak dapat dimatikan: undang-undang mewajibkan kami melakukannya."
    ),
}


def _state_text(choice) -> str:
    reason = choice.decision.reason
    if reason == Reason.RESTRICTED:
        return _("Dibatasi atas permintaan Anda")
    if choice.purpose.basis == LegalBasis.CONSENT:
        return _("Anda setuju") if choice.allowed else _("Anda tidak setuju")
    if choice.purpose.basis == LegalBasis.LEGITIMATE_INTEREST:
        return _("Anda keberatan") if not choice.allowed else _("Berjalan; Anda dapat menyatakan keberatan")
    return _("Selalu berjalan")


def _switch_label(purpose) -> str:
    if purpose.basis == LegalBasis.CONSENT:
        return _("Saya setuju")
    return _("Saya keberatan")


def _rows(subject: SubjectRef) -> list[dict]:
    language = _language()
    rows = []
    for choice in services.preference_choices(subject):
        purpose = choice.purpose
        categories = [str(Category(key).label) for key in purpose.categories if key in Category.values]
        why = ""
        if purpose.basis in BASIS_WHY:
            why = str(BASIS_WHY[purpose.basis])
        elif choice.objected:
            why = _(
                "Keberatan Anda sudah tercatat. Untuk mencabutnya, hapus centang lalu simpan: "
                "kami akan kembali menggunakan data Anda untuk tujuan ini."
            )
        rows.append({
            "key": purpose.key, "number": purpose.number, "name": purpose.name(language),
            "description": purpose.description(language), "basis": purpose.get_basis_display(),
            "basis_key": purpose.basis, "categories": categories, "state": _state_text(choice),
            "allowed": choice.allowed, "switchable": choice.switchable, "why": why,
            "label": _switch_label(purpose),
            # What a switch means, checked: allowed for consent, objected for legitimate interest.
            "checked": choice.allowed if purpose.basis == LegalBasis.CONSENT else not choice.allowed,
        })
    return rows


def _evidence_ip(request) -> str | None:
    """The client's address as the rate limits count it (behind the trusted proxies)."""
    address = ratelimits.client_ip(request)
    return None if address == "unknown" else address


def _evidence_text(row: dict) -> str:
    text = f"{row['number']}. {row['name']}: {row['description']} [{row['basis']}] {row['label']}"
    return f"{text} ({row['why']})" if row["why"] else text


@require_http_methods(["GET", "POST"])
def preferences_choices(request):
    subject = _proven(request)
    if subject is None:
        request.session.pop(PROVEN, None)
        messages.error(request, _("Sesi preferensi Anda sudah berakhir. Minta kode baru untuk melanjutkan."))
        return SeeOther(reverse("portal:preferences"))
    if request.method == "POST":
        rows = _rows(subject)
        # Only the switches this page showed are read; any other field (a forged one) is ignored,
        # and the service refuses a purpose that cannot be switched whatever it is given.
        wanted, texts = {}, {}
        for row in rows:
            if not row["switchable"]:
                continue
            checked = request.POST.get(f"purpose-{row['key']}") == "on"
            wanted[row["key"]] = checked if row["basis_key"] == LegalBasis.CONSENT else not checked
            texts[row["key"]] = _evidence_text(row)
        try:
            events = services.preferences_save(
                subject=subject, wanted=wanted, texts=texts, ip_address=_evidence_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except RequestError as error:
            messages.error(request, error.message)
        else:
            if events:
                messages.success(request, _("Pilihan Anda telah disimpan (%(n)s perubahan).") % {"n": len(events)})
            else:
                messages.success(request, _("Tidak ada yang berubah: pilihan Anda tetap seperti sebelumnya."))
        return SeeOther(reverse("portal:preferences_choices"))
    shop = Merchant.objects.filter(pk=subject.merchant_id).only("business_name").first() if subject.merchant_id else None
    held = request.session[PROVEN]
    context = {
        "rows": _rows(subject), "shop": shop,
        "masked": mask_address("email" if held["via"] == "email" else held["via"], held["address"]),
        "until": format_due(datetime.fromtimestamp(held["until"], tz=timezone.get_current_timezone())),
    }
    return render(request, "portal/preferences_choices.html", context)


@require_POST
def preferences_end(request):
    request.session.pop(PROVEN, None)
    request.session.pop(PENDING, None)
    messages.success(request, _("Anda sudah keluar dari pengaturan preferensi."))
    return SeeOther(reverse("portal:preferences"))


# -- one-click unsubscribe -------------------------------------------------------------------


def _unsubscribe_context(unsubscribe) -> dict:
    """The page's context; the address is the message's, masked. A link whose subject was erased
    names no address (nothing of her is kept to name)."""
    subject = unsubscribe.subject
    merchant_id = unsubscribe.merchant_id
    shop = Merchant.objects.filter(pk=merchant_id).only("business_name").first() if merchant_id else None
    language = _language()
    by_key = purposes_by_key()
    if subject is None:
        masked = _("Alamat ini")
    else:
        masked = mask_address("email" if subject.email else "sms", subject.email or subject.phone)
    return {"shop": shop, "masked": masked, "purposes": [by_key[key].name(language) for key in unsubscribe.purposes]}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET: a page with one button. POST (the button, or a mail client's one-click): withdraw.

    The token names the outbox message the link was sent in, never the address: the address is
    read from that message. A message whose subject was erased since answers, GET or POST, as a
    link already used (she receives nothing more), and records nothing.

    Not rate limited: the token is signed, a POST records at most one withdrawal per purpose,
    and one-click POSTs of many people come from the same few mail-provider addresses."""
    found = unsubscribe_read(token)
    if found is None:
        return render(request, "portal/unsubscribe_invalid.html", status=400)
    context = _unsubscribe_context(found)
    if found.gone:
        context["recorded"] = 0
        return render(request, "portal/unsubscribe_done.html", context)
    if request.method == "GET":
        return render(request, "portal/unsubscribe.html", context)
    from_page = request.POST.get("from") == "page"
    text = (
        _("Halaman berhenti berlangganan: tombol “Berhenti berlangganan”.") if from_page
        else "List-Unsubscribe=One-Click (RFC 8058)"
    )
    events = marketing_unsubscribe(
        unsubscribe=found, ip_address=_evidence_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""), text_shown=text,
    )
    context["recorded"] = len(events)
    return render(request, "portal/unsubscribe_done.html", context)
