"""The access package: everything the data map finds for a request's verified identity, in a ZIP.

Safety design
- The data map is the only list of tables: the rows are retention.selectors.subject_querysets'
  for the request's e-mail and phone, per declared table and per merchant (the table's
  `merchant` path), in the data map's order. Every concrete column of each row is written.
- Memory flat whatever the number of rows: each file is a generator reading its rows through
  one server-side cursor (one query per file, CHUNK_SIZE rows fetched at a time, in primary-key
  order), turned into bytes chunk by chunk; zipstream-ng pulls the generators one after the
  other and its output goes straight to a file under PRIVATE_MEDIA_DIR (never public media),
  hashed and counted on the way. Only one chunk of rows, and one compressed block, are in memory
  at a time. (Not keyset pages: the data map's condition, e.g. lines whose sale is hers by
  customer OR receipt e-mail, is a hash join over all her sales that PostgreSQL redid for every
  page. Keyset pages remain the fallback where server-side cursors are disabled.)
- Values are converted per type through a table built once per file (times in the current
  time zone, bytes as base64...), not through a chain of isinstance per value.
- Per table and merchant: `<folder>/<model>__<categories>.json` and `.csv` (the categories of the
  policy the table holds, in the name). An access package adds `index.html` and `README.txt` in
  the requester's language: per category, the purposes that use it with their legal basis, the
  recipients registered for it and the disclosures of her data made to them, where the data came
  from (the table's description in the data map), how long it is kept (the table's retention
  rule, or until erasure), and the request's own timeline. A portability package holds the
  machine-readable files alone (the issue: "the machine-readable files alone").
- The index is written last, from the row counts the data files counted while streaming: no
  second COUNT pass.
- The ZIP is written to `request-<id>.zip.part` and renamed when complete: a killed build leaves no
  file that looks finished, and the next build of the request removes the part first (a failure
  that raises removes it at once).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path

from django.db import connections
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.text import slugify
from django.utils.translation import gettext as _
from zipstream import ZIP_DEFLATED, ZipStream

from consent.models import Disclosure, LegalBasis, Purpose, Recipient
from merchants.identifiers import normalize_email, normalize_phone
from merchants.models import Merchant
from retention.models import RetentionRule
from retention.registry import Category, DataMap, ModelMap, datamap
from retention.selectors import subject_querysets

from .models import DataSubjectRequest, Right, State

# Rows read and encoded per query (keyset page).
CHUNK_SIZE = 2000
# The folder of the records that belong to no merchant (the portal's own: requests, messages).
PORTAL_FOLDER = "junopos-privacy"


@dataclass
class Part:
    """One declared table's rows of the subject within one merchant (or none)."""

    entry: ModelMap
    merchant_id: int | None
    merchant_name: str
    queryset: QuerySet
    rows: int = 0

    @property
    def folder(self) -> str:
        if self.merchant_id is None:
            return PORTAL_FOLDER
        slug = slugify(self.merchant_name)[:40].strip("-")
        return f"merchant-{self.merchant_id}" + (f"-{slug}" if slug else "")

    @property
    def stem(self) -> str:
        name = self.entry.model._meta.model_name
        categories = "+".join(self.entry.categories)
        return f"{self.folder}/{name}__{categories}" if categories else f"{self.folder}/{name}"

    @property
    def columns(self) -> list[str]:
        return [f.attname for f in self.entry.model._meta.concrete_fields]


def identity(request: DataSubjectRequest) -> tuple[str | None, str | None]:
    """The verified identity of a request, normalised (None: nothing verified)."""
    if request.verified_at is None:
        return None, None
    return normalize_email(request.email or None), normalize_phone(request.phone or None)


def package_parts(request: DataSubjectRequest, *, registry: DataMap = datamap) -> list[Part]:
    """Per declared table, per merchant, the subject's rows: one DISTINCT query per table found."""
    email, phone = identity(request)
    if not email and not phone:
        return []
    querysets = subject_querysets(email=email, phone=phone, registry=registry)
    found: list[tuple[ModelMap, int | None, QuerySet]] = []
    for entry in registry.in_dependency_order():
        queryset = querysets.get(entry.label)
        if queryset is None:
            continue
        if not entry.merchant:
            if queryset.exists():
                found.append((entry, None, queryset))
            continue
        owners = queryset.order_by().values_list(entry.merchant, flat=True).distinct()
        for owner in sorted(owners, key=lambda pk: (pk is None, pk or 0)):
            rows = queryset.filter(**({entry.merchant: owner} if owner is not None else {f"{entry.merchant}__isnull": True}))
            found.append((entry, owner, rows))
    names = dict(
        Merchant.objects.filter(pk__in={m for _e, m, _q in found if m is not None}).values_list("pk", "business_name")
    )
    parts = [Part(entry=e, merchant_id=m, merchant_name=names.get(m, ""), queryset=q) for e, m, q in found]
    parts.sort(key=lambda p: (p.merchant_id is None, p.merchant_id or 0))
    return parts


# -- the rows, chunk by chunk -----------------------------------------------------------------


def _chunks(part: Part) -> Iterator[list[tuple]]:
    """The part's rows, CHUNK_SIZE at a time in primary-key order: one query, read through a
    server-side cursor (keyset pages, `pk > last`, where server-side cursors are disabled)."""
    columns = part.columns
    pk = part.entry.model._meta.pk.attname
    ordered = part.queryset.order_by(pk)
    if not connections[ordered.db].settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        rows_iter = ordered.values_list(*columns).iterator(chunk_size=CHUNK_SIZE)
        while rows := list(islice(rows_iter, CHUNK_SIZE)):
            yield rows
        return
    at = columns.index(pk)
    last = None
    while True:
        page = ordered if last is None else ordered.filter(**{f"{pk}__gt": last})
        rows = list(page.values_list(*columns)[:CHUNK_SIZE])
        if not rows:
            return
        yield rows
        last = rows[-1][at]


def _plain(value):
    """A column's value as JSON can hold it: times in Asia/Jakarta, bytes as base64."""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    return value


def _cell(value) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _Converters(dict):
    """type -> the function that turns a value of it into what the file holds (None: as it is);
    `_plain` / `_cell` for a type met for the first time, faster paths for the usual ones."""

    def __init__(self, for_csv: bool):
        super().__init__()
        self.for_csv = for_csv
        zone = timezone.get_current_timezone()

        def moment(value: datetime):
            return value.astimezone(zone).isoformat() if value.utcoffset() is not None else value.isoformat()

        as_is = (str, int, float, bool, type(None)) if for_csv else (str, int, float, bool, type(None), dict, list)
        self.update(dict.fromkeys(as_is))  # csv.writer writes None as "" and numbers with str()
        self[datetime] = moment
        if for_csv:
            self.update(dict.fromkeys((date, Decimal, uuid.UUID)))  # str() is their _cell
        else:
            self.update({date: date.isoformat, Decimal: str, uuid.UUID: str})

    def __missing__(self, kind: type) -> Callable | None:
        self[kind] = _cell if self.for_csv else _plain
        return self[kind]


def json_file(part: Part) -> Iterator[bytes]:
    """A JSON array of objects (column: value), one chunk of rows per piece; counts the rows."""
    columns = part.columns
    convert = _Converters(for_csv=False)
    encode = json.JSONEncoder(ensure_ascii=False).encode
    part.rows = 0
    yield b"["
    separator = b"\n"
    for rows in _chunks(part):
        text = ",\n".join(
            encode(dict(zip(columns, [v if (c := convert[type(v)]) is None else c(v) for v in row]))) for row in rows
        )
        yield separator + text.encode()
        separator = b",\n"
        part.rows += len(rows)
    yield b"\n]\n"


def csv_file(part: Part) -> Iterator[bytes]:
    """The same rows as CSV (UTF-8, a header of column names), one chunk of rows per piece."""
    convert = _Converters(for_csv=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(part.columns)
    for rows in _chunks(part):
        writer.writerows([v if (c := convert[type(v)]) is None else c(v) for v in row] for row in rows)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()


# -- the index and README -------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M WIB") if value else ""


def _retention_text(entry: ModelMap, rules: dict[str, RetentionRule]) -> str:
    rule = rules.get(entry.retained_under or "")
    if rule is None:
        return _("disimpan sampai dihapus (atas permintaan Anda, atau ketika merchant berhenti memakai JUNOPOS)")
    return _("%(title)s: %(period)s (%(trigger)s), lalu %(action)s. Dasar hukum: %(basis)s") % {
        "title": rule.title, "period": rule.period_display, "trigger": rule.get_trigger_display(),
        "action": rule.get_action_display(), "basis": rule.legal_basis,
    }


@dataclass
class Section:
    category: str
    label: str
    files: list[str]
    sources: list[str]
    retention: list[str]
    purposes: list[str]
    recipients: list[str]
    disclosures: list[str]


def summary(request: DataSubjectRequest, parts: list[Part]) -> tuple[list[Section], list[str]]:
    """Per category found, what the policy and the registers say about it; and the timeline.
    Small reads: the purposes, recipients and rules (tens of rows) and her disclosures."""
    language = request.language or "id"
    email, phone = identity(request)
    rules = {r.key: r for r in RetentionRule.objects.all()}
    purposes = list(Purpose.objects.order_by("number"))
    recipients = list(Recipient.objects.filter(active=True).order_by("name"))
    condition = Q(pk__in=[])
    if email:
        condition |= Q(email__iexact=email)
    if phone:
        condition |= Q(phone=phone)
    disclosures = list(
        Disclosure.objects.filter(condition, outcome=Disclosure.Outcome.ALLOWED)
        .select_related("recipient", "purpose").order_by("occurred_at", "pk")
    )
    sections = []
    for category in Category:
        holding = [p for p in parts if category.value in p.entry.categories]
        if not holding:
            continue
        entries = list({p.entry.label: p.entry for p in holding}.values())
        sections.append(Section(
            category=category.value,
            label=str(category.label),
            files=[_("%(file)s (%(rows)s baris)") % {"file": p.stem, "rows": p.rows} for p in holding],
            sources=[f"{e.model._meta.verbose_name_plural}: {e.description}" for e in entries],
            retention=[f"{e.model._meta.verbose_name_plural}: {_retention_text(e, rules)}" for e in entries],
            purposes=[
                f"{p.number}. {p.name(language)} ({LegalBasis(p.basis).label})"
                for p in purposes if category.value in (p.categories or [])
            ],
            recipients=[f"{r.name} ({r.get_kind_display()}, {r.country})" for r in recipients
                        if category.value in (r.categories or [])],
            disclosures=[
                _("%(when)s kepada %(recipient)s untuk %(purpose)s (%(basis)s)") % {
                    "when": _when(d.occurred_at), "recipient": d.recipient.name, "purpose": d.purpose.name(language),
                    "basis": LegalBasis(d.basis).label,
                }
                for d in disclosures if category.value in (d.categories or [])
            ],
        ))
    timeline = []
    for event in request.events.order_by("seq"):
        state = State(event.to_state).label if event.to_state in State.values else ""
        line = f"{_when(event.created_at)} {event.verb}" + (f" → {state}" if state else "")
        if event.told:
            line += f": {event.told}"
        timeline.append(line)
    return sections, timeline


def _headings() -> dict[str, str]:
    return {
        "files": _("Berkas"), "sources": _("Asal data"), "retention": _("Berapa lama disimpan"),
        "purposes": _("Tujuan penggunaan dan dasar hukumnya"), "recipients": _("Penerima yang terdaftar"),
        "disclosures": _("Pengungkapan data Anda kepada penerima"),
    }


def _intro(request: DataSubjectRequest) -> list[str]:
    email, phone = identity(request)
    return [
        _("Permintaan %(ref)s: %(right)s") % {"ref": request.reference, "right": Right(request.right).label},
        _("Dibuat %(when)s untuk %(who)s.") % {"when": _when(timezone.now()), "who": ", ".join(filter(None, [email, phone]))},
        _("Setiap tabel ada dalam dua bentuk: JSON dan CSV. Nama berkas memuat kategori datanya."),
    ]


def index_html(request: DataSubjectRequest, parts: list[Part]) -> Iterator[bytes]:
    sections, timeline = summary(request, parts)
    headings = _headings()
    none = escape(_("tidak ada"))

    def items(values: list[str]) -> str:
        return "<ul>" + "".join(f"<li>{escape(v)}</li>" for v in values) + "</ul>" if values else f"<p>{none}</p>"

    title = escape(_("Salinan data pribadi Anda"))
    html = [f'<!DOCTYPE html>\n<html lang="{escape(request.language)}"><head><meta charset="utf-8">'
            f"<title>{title}</title></head><body><h1>{title}</h1>"]
    html += [f"<p>{escape(line)}</p>" for line in _intro(request)]
    for section in sections:
        html.append(f"<h2>{escape(section.label)}</h2>")
        for key, heading in headings.items():
            html.append(f"<h3>{escape(heading)}</h3>{items(getattr(section, key))}")
    html.append(f"<h2>{escape(_('Riwayat permintaan Anda'))}</h2>{items(timeline)}</body></html>\n")
    yield "".join(html).encode()


def readme_txt(request: DataSubjectRequest, parts: list[Part]) -> Iterator[bytes]:
    sections, timeline = summary(request, parts)
    headings = _headings()
    lines = [_("Salinan data pribadi Anda"), "", *_intro(request)]
    for section in sections:
        lines += ["", f"== {section.label} =="]
        for key, heading in headings.items():
            values = getattr(section, key)
            lines += [f"{heading}:"] + [f"  - {v}" for v in values] if values else [f"{heading}: {_('tidak ada')}"]
    lines += ["", f"== {_('Riwayat permintaan Anda')} =="] + [f"  - {line}" for line in timeline]
    yield ("\n".join(lines) + "\n").encode()


# -- the ZIP ---------------------------------------------------------------------------------


def partial_path(request: DataSubjectRequest, folder: Path) -> Path:
    """Where the request's package is written until it is complete."""
    return folder / f"request-{request.pk}.zip.part"


def write_package(request: DataSubjectRequest, target: Path, *, registry: DataMap = datamap) -> tuple[str, int]:
    """Stream the request's package into `target`; returns its sha256 and size in bytes."""
    portability = request.right == Right.PORTABILITY
    # Named after the request, not the package: a build killed mid-way (kill -9 runs no cleanup)
    # leaves this file, and the next build of the request (the resumed execution) removes it first.
    partial = partial_path(request, target.parent)
    partial.unlink(missing_ok=True)
    digest, size = hashlib.sha256(), 0
    with translation.override(request.language or "id"):
        parts = package_parts(request, registry=registry)
        stream = ZipStream(compress_type=ZIP_DEFLATED)
        for part in parts:
            stream.add(json_file(part), f"{part.stem}.json")
            stream.add(csv_file(part), f"{part.stem}.csv")
        if not portability:
            stream.add(index_html(request, parts), "index.html")
            stream.add(readme_txt(request, parts), "README.txt")
        try:
            with open(partial, "wb") as out:
                for chunk in stream:
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return digest.hexdigest(), size
