"""The regulator's view in the admin: one page answering, for a data subject (e-mail and/or
phone) or a merchant (id or NPWP), what requests_portal.dossier answers (`manage.py dossier`),
in tables a person reads and prints (static/admin/dossier.css: @media print), and a CSV of
every step (each request event, each erasure run and its counts).

Who: whoever may see the requests (`requests_portal.view_datasubjectrequest`: officers, the
DPO, the Auditor); nothing here changes anything but the admin's log.

A look-up is itself a processing of personal data, so:
- the identifiers travel in a POST body, never in a URL (no access log, browser history or
  Referer keeps the address of a person whose data was erased); the CSV is a second POST of the
  same fields from the page;
- each look-up (page or CSV) is written to Django's admin log (LogEntry) with its own action
  flag, LOOKUP, naming who looked and whom by the keyed hashes of the identifiers (never the
  identifiers).

The URLs are added by junoprivacy/admin_site.py (`dossier_urls`), which also puts the page in
the requests app's list (`with_dossier_link`).
"""

from __future__ import annotations

import csv
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.models import Action as ConsentAction
from consent.models import Channel as ConsentChannel
from consent.models import Disclosure, ErasureNotice
from merchants.identifiers import normalize_email, normalize_phone
from retention.engine import ANONYMISED, DELETED
from retention.models import ErasureRun, PurgeSchedule
from retention.pseudonyms import pseudonym
from retention.registry import Category

from ..dossier import Dossier, DossierError, merchant_dossier, subject_dossier
from ..models import Channel, DataSubjectRequest, Right, State
from . import display
from .export import _cell, _Echo, _when

VIEW = "requests_portal.view_datasubjectrequest"
# LogEntry's own flags are addition (1), change (2) and deletion (3); a look-up is none of them.
LOOKUP = 4
PAGE_TEMPLATE = "admin/requests_portal/dossier.html"

# Fixed codes (not translated): an auditor's spreadsheet keeps working across languages.
CSV_COLUMNS = (
    "record", "reference", "seq", "at", "verb", "actor", "from_state", "to_state", "table", "action", "rows",
    "rule", "dry_run",
)


def label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value or "-"


class DossierForm(forms.Form):
    email = forms.CharField(label=gettext_lazy("E-mail"), required=False, max_length=254)
    phone = forms.CharField(label=gettext_lazy("Nomor telepon"), required=False, max_length=40)
    merchant = forms.IntegerField(label=gettext_lazy("ID merchant"), required=False, min_value=1)
    tax_number = forms.CharField(label=gettext_lazy("NPWP"), required=False, max_length=40)

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if email and normalize_email(email) is None:
            raise ValidationError(_("Alamat e-mail ini tidak valid."))
        return email

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if phone and normalize_phone(phone) is None:
            raise ValidationError(_("Nomor telepon ini tidak valid."))
        return phone

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        subject = bool(data.get("email") or data.get("phone"))
        merchant = data.get("merchant") is not None or bool(data.get("tax_number", "").strip())
        if subject == merchant:
            raise ValidationError(_(
                "Isi e-mail dan/atau nomor telepon seorang subjek data, atau ID merchant atau NPWP "
                "sebuah merchant: salah satu, bukan keduanya."
            ))
        if data.get("merchant") is not None and data.get("tax_number", "").strip():
            raise ValidationError(_("Isi ID merchant atau NPWP, bukan keduanya."))
        return data

    def dossier(self) -> Dossier:
        data = self.cleaned_data
        if data.get("email") or data.get("phone"):
            return subject_dossier(email=data.get("email") or None, phone=data.get("phone") or None)
        return merchant_dossier(merchant_id=data.get("merchant"), tax_number=data.get("tax_number") or None)


# -- the admin's log --------------------------------------------------------------------------


def lookup_repr(form: DossierForm, dossier: Dossier) -> str:
    """Whom a look-up concerned, by keyed hash (never the identifier typed)."""
    if dossier.kind == "subject":
        return "dossier:subject " + " ".join(f"{k}={v}" for k, v in sorted(dossier.subject_hashes.items()))
    typed = " ".join((form.cleaned_data.get("tax_number") or "").split())
    by_tax = f" tax_number={pseudonym(typed, kind='text')}" if typed else ""
    return f"dossier:merchant {dossier.merchant.merchant_id}{by_tax}"


def dossier_lookup_log(*, actor, form: DossierForm, dossier: Dossier, output: str) -> LogEntry:
    """Who looked up whom, when, and what they took away ("page" or "csv")."""
    return LogEntry.objects.create(
        user_id=actor.pk, content_type=None, object_id=None, object_repr=lookup_repr(form, dossier)[:200],
        action_flag=LOOKUP, change_message=f"dossier {output}",
    )


# -- the page ---------------------------------------------------------------------------------


def _erasure_action(action: str) -> str:
    return str({DELETED: _("dihapus"), ANONYMISED: _("dianonimkan")}.get(action, action))


def _times(moment) -> str:
    return display.short_time(moment) if moment else "-"


def _actor(actor: str) -> str:
    return str(display.ACTOR_KINDS.get(actor, actor))


def _holdings(holdings) -> dict:
    return {
        "tables": [
            {"name": t.name, "table": t.table, "count": t.count,
             "categories": ", ".join(label(Category, c) for c in t.categories)}
            for t in holdings.tables
        ],
        "by_category": [{"category": label(Category, c), "count": n} for c, n in holdings.by_category.items()],
        "total": holdings.total,
    }


def _notice_state(notified) -> str:
    """The erasure notice to a recipient as the dossier gives it: none, or its state, reference
    and times."""
    if notified is None:
        return _("tidak ada pemberitahuan penghapusan yang tercatat")
    parts = [label(ErasureNotice.State, notified.state), notified.reference]
    if notified.sent_at:
        parts.append(_("terkirim %(at)s") % {"at": _times(notified.sent_at)})
    if notified.acknowledged_at:
        parts.append(_("dikonfirmasi %(at)s") % {"at": _times(notified.acknowledged_at)})
    return ", ".join(p for p in parts if p)


def page_sections(dossier: Dossier) -> dict:
    """The dossier with every code replaced by its label and every time written in WIB."""
    m = dossier.merchant
    merchant = None
    if m is not None:
        if not m.exists:
            state = _("baris merchant tidak ada lagi")
        elif m.tombstone:
            state = _("dihapus; tersisa nisan (pengenal diganti hash berkunci)")
        else:
            state = _("ada")
        merchant = {
            "id": m.merchant_id, "state": state, "churned_at": _times(m.churned_at),
            "schedule_state": label(PurgeSchedule.State, m.schedule_state) if m.schedule_state else "",
            "due_at": _times(m.due_at), "purged_at": _times(m.purged_at), "rule": m.rule, "rule_title": m.rule_title,
            "active_holds": m.active_holds,
        }
    return {
        "merchant": merchant,
        "subject_hashes": sorted(dossier.subject_hashes.items()),
        "holdings": _holdings(dossier.holdings),
        "held_under_keyed_hash": _holdings(dossier.held_under_keyed_hash) if dossier.kind == "subject" else None,
        "requests": [
            {
                "reference": r.reference, "right": label(Right, r.right), "state": label(State, r.state),
                "channel": label(Channel, r.channel), "created_at": _times(r.created_at),
                "closed_at": _times(r.closed_at), "matched_by": {
                    "identifier": _("pengenal"), "keyed_hash": _("hash berkunci"), "merchant": _("merchant"),
                }.get(r.matched_by, r.matched_by),
                "chain_intact": r.chain_intact, "chain_problem": r.chain_problem,
                "events": [
                    {"seq": e.seq, "at": _times(e.at), "verb": display.verb_label(e.verb), "actor": _actor(e.actor),
                     "from_state": label(State, e.from_state) if e.from_state else "",
                     "to_state": label(State, e.to_state) if e.to_state else ""}
                    for e in r.events
                ],
            }
            for r in dossier.requests
        ],
        "chains_intact": dossier.chains_intact,
        "runs": [
            {
                "id": run.id, "kind": label(ErasureRun.Kind, run.kind), "state": label(ErasureRun.State, run.state),
                "dry_run": run.dry_run, "rule": run.rule, "rule_title": run.rule_title,
                "created_at": _times(run.created_at), "started_at": _times(run.started_at),
                "finished_at": _times(run.finished_at), "stop_reason": run.stop_reason, "retry_of": run.retry_of,
                "counts": [
                    {"table": table, "action": _erasure_action(action), "count": n}
                    for table, actions in sorted(run.counts.items()) for action, n in sorted(actions.items())
                ],
                "kept": run.kept,
            }
            for run in dossier.runs
        ],
        "consent": [
            {"at": _times(c.at), "purpose": c.purpose, "action": label(ConsentAction, c.action),
             "channel": label(ConsentChannel, c.channel), "policy_version": c.policy_version or "-",
             "merchant_id": c.merchant_id, "under_keyed_hash": c.under_keyed_hash}
            for c in dossier.consent
        ],
        "consent_totals": [
            {"purpose": t.purpose, "action": label(ConsentAction, t.action), "count": t.count}
            for t in dossier.consent_totals
        ],
        "disclosures": [
            {"at": _times(x.at), "recipient": x.recipient, "country": x.country,
             "categories": ", ".join(label(Category, c) for c in x.categories), "purpose": x.purpose,
             "outcome": label(Disclosure.Outcome, x.outcome),
             "refusal": label(Disclosure.Refusal, x.refusal) if x.refusal else "",
             "merchant_id": x.merchant_id, "notice": _notice_state(x.erasure_notified)}
            for x in dossier.disclosures
        ],
        "disclosure_totals": [
            {"recipient": t.recipient, "country": t.country, "purpose": t.purpose,
             "outcome": label(Disclosure.Outcome, t.outcome),
             "refusal": label(Disclosure.Refusal, t.refusal) if t.refusal else "", "count": t.count,
             "first_at": _times(t.first_at), "last_at": _times(t.last_at)}
            for t in dossier.disclosure_totals
        ],
    }


def _context(request, admin_site, form, **extra) -> dict:
    opts = DataSubjectRequest._meta
    return {
        **admin_site.each_context(request),
        "title": _("Dosir regulator"),
        "opts": opts,
        "app_label": opts.app_label,
        "form": form,
        "csv_url": reverse("admin:requests_portal_dossier_csv"),
        **extra,
    }


def dossier_page(request, admin_site):
    """GET: the form. POST: the form again, and under it the dossier."""
    if not request.user.has_perm(VIEW):
        raise PermissionDenied
    form = DossierForm(request.POST if request.method == "POST" else None)
    extra = {}
    if form.is_bound and form.is_valid():
        try:
            dossier = form.dossier()
        except DossierError as exc:
            form.add_error(None, str(exc))
        else:
            dossier_lookup_log(actor=request.user, form=form, dossier=dossier, output="page")
            extra = {
                "dossier": dossier, "sections": page_sections(dossier),
                "drawn_up_at": display.short_time(timezone.now()), "drawn_up_by": request.user.get_username(),
            }
    response = TemplateResponse(request, PAGE_TEMPLATE, _context(request, admin_site, form, **extra))
    response["Cache-Control"] = "private, no-store"
    return response


# -- the CSV of the steps ---------------------------------------------------------------------


def csv_rows(dossier: Dossier):
    """Every request event, then every erasure run and its counts per table and action."""
    yield CSV_COLUMNS
    for r in dossier.requests:
        for e in r.events:
            yield ("request_event", r.reference, e.seq, _when(e.at), e.verb, e.actor, e.from_state, e.to_state,
                   "", "", "", "", "")
    for run in dossier.runs:
        reference = f"RUN-{run.id}"
        at = run.finished_at or run.started_at or run.created_at
        dry = "yes" if run.dry_run else ""
        yield ("erasure_run", reference, "", _when(at), run.kind, "system", "", run.state, "", "", "",
               run.rule or "", dry)
        kept_under = {k.table: k.rule or "" for k in run.kept}
        for table, actions in sorted(run.counts.items()):
            for action, n in sorted(actions.items()):
                rule = kept_under.get(table, "") if action == ANONYMISED else ""
                yield ("erasure_count", reference, "", _when(at), run.kind, "system", "", "", table, action, n,
                       rule, dry)


def csv_lines(dossier: Dossier):
    writer = csv.writer(_Echo())
    for row in csv_rows(dossier):
        yield writer.writerow([_cell(value) for value in row])


def dossier_csv(request, admin_site):
    """The steps of the dossier the page shows, for the same fields (a POST from the page)."""
    if not request.user.has_perm(VIEW):
        raise PermissionDenied
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = DossierForm(request.POST)
    if form.is_valid():
        try:
            dossier = form.dossier()
        except DossierError as exc:
            form.add_error(None, str(exc))
        else:
            dossier_lookup_log(actor=request.user, form=form, dossier=dossier, output="csv")
            stamp = timezone.localtime(timezone.now(), ZoneInfo(settings.TIME_ZONE)).strftime("%Y%m%d-%H%M")
            # Never the identifier in the file's name: the subject by kind only, a merchant by id.
            who = "subjek" if dossier.kind == "subject" else f"merchant-{dossier.merchant.merchant_id}"
            response = StreamingHttpResponse(csv_lines(dossier), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="dosir-langkah-{who}-{stamp}.csv"'
            response["Cache-Control"] = "private, no-store"
            return response
    return TemplateResponse(request, PAGE_TEMPLATE, _context(request, admin_site, form), status=400)


# -- where it lives ---------------------------------------------------------------------------


def dossier_urls(admin_site) -> list:
    view = admin_site.admin_view
    return [
        path("requests_portal/dossier/", view(lambda request: dossier_page(request, admin_site)),
             name="requests_portal_dossier"),
        path("requests_portal/dossier/steps.csv", view(lambda request: dossier_csv(request, admin_site)),
             name="requests_portal_dossier_csv"),
    ]


def with_dossier_link(request, app_list: list) -> list:
    """The page as one more line of the requests app, for those who may see it."""
    if not request.user.has_perm(VIEW):
        return app_list
    for app in app_list:
        if app["app_label"] == "requests_portal":
            app["models"].append({
                "name": _("Dosir regulator"), "object_name": "Dossier", "model_name": "dossier",
                "perms": {"view": True}, "admin_url": reverse("admin:requests_portal_dossier"), "add_url": None,
                "view_only": True,
            })
            app["models"].sort(key=lambda m: str(m["name"]))
    return app_list
