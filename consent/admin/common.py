"""What the consent admin's lists share: a search that is an index probe, times in WIB."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchants.identifiers import normalize_email, normalize_phone
from retention.registry import Category

SUBJECT_SEARCH_HELP = _(
    "E-mail atau nomor telepon subjek data (0812... atau +62812...), dicari persis setelah dinormalkan; "
    "setelah penghapusan, hash yang tersimpan (h$...)."
)
CATEGORY_LABELS = dict(Category.choices)
JAKARTA = ZoneInfo("Asia/Jakarta")


def subject_term(term: str) -> str | None:
    """The value an identifier is stored as: a normalised e-mail, an E.164 phone, or a keyed hash
    (searched as typed). None when the term is none of them."""
    term = term.strip()
    if not term:
        return None
    if term.startswith("h$"):
        return term
    if "@" in term:
        return normalize_email(term)
    return normalize_phone(term)


class SubjectSearchMixin:
    """Search by a subject's identifier, exactly (the partial indexes on e-mail and phone answer
    it), never `icontains` over millions of rows. `subject_fields` names the columns."""

    subject_fields: tuple[str, ...] = ("email", "phone")
    search_help_text = SUBJECT_SEARCH_HELP

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        value = subject_term(search_term)
        if value is None:
            return queryset.none(), False
        match = Q()
        for field in self.subject_fields:
            match |= Q(**{field: value})
        return queryset.filter(match), False


def wib(moment) -> str:
    """A time as officers read it: Asia/Jakarta."""
    if moment is None:
        return "-"
    return timezone.localtime(moment, JAKARTA).strftime("%d-%m-%Y %H:%M:%S WIB")


def categories_label(values) -> str:
    return ", ".join(str(CATEGORY_LABELS.get(v, v)) for v in values or ()) or "-"
