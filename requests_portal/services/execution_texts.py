"""What an execution writes: step labels, counts per table for the events, and the texts the
requester is told (the deletion's summary, the download link, the consent result) or the officer
is shown. Texts only: requests_portal.services.execution decides when each is written."""

from __future__ import annotations

from datetime import datetime

from django.utils import translation
from django.utils.translation import gettext as _

from retention.engine import ANONYMISED, DELETED, total_rows
from retention.models import RetentionRule
from retention.registry import Category, datamap

from ..formatting import format_due
from ..models import AccessPackage, DataSubjectRequest, RequestExecution, Right
from .export import package_url


STEP_LABELS = {
    "dry_run": _("uji coba penghapusan"), "closure": _("penutupan akun merchant"),
    "notices": _("pemberitahuan penghapusan"), "summary": _("ringkasan untuk pemohon"),
    "erasure": _("penghapusan"), "complete": _("penyelesaian"),
    "package": _("pembuatan paket data"), "link": _("tautan unduhan untuk pemohon"),
    "ledger": _("pencatatan di buku persetujuan"),
}


def step_label(step: str) -> str:
    return str(STEP_LABELS.get(step, step))


def _entries_by_table() -> dict:
    tables = {}
    for entry in datamap:
        tables[entry.db_table] = entry
        if entry.history_model is not None:
            tables[entry.history_model._meta.db_table] = entry
    return tables


def counts_note(counts: dict, kept: str = "") -> str:
    """Counts per table and action, for an event (never content)."""
    parts = [f"{table}: " + ", ".join(f"{action} {n}" for action, n in sorted(actions.items()))
             for table, actions in sorted(counts.items())]
    text = "; ".join(parts) or _("tidak ada data")
    return f"{text} ({_('total')} {total_rows(counts)})" + (f". {kept}" if kept else "")


def erased_lines(counts: dict) -> list[str]:
    """What is erased, per category and table (deleted rows, and fields removed from kept rows)."""
    tables = _entries_by_table()
    lines = []
    for table, actions in sorted(counts.items()):
        entry = tables.get(table.split(":")[0])
        name = str(entry.model._meta.verbose_name_plural) if entry else table
        categories = ", ".join(str(Category(c).label) for c in entry.categories) if entry else ""
        n = actions.get(DELETED, 0)
        if n:
            lines.append(_("%(table)s (%(categories)s): %(n)s baris dihapus.") % {
                "table": name, "categories": categories, "n": n})
    return lines


def kept_lines(counts: dict) -> list[str]:
    """What is kept, anonymised, why and for how long (the data map's retained_under rules)."""
    tables = _entries_by_table()
    rules = {r.key: r for r in RetentionRule.objects.all()}
    lines = []
    for table, actions in sorted(counts.items()):
        entry = tables.get(table.split(":")[0])
        n = actions.get(ANONYMISED, 0)
        if not n or entry is None:
            continue
        rule = rules.get(entry.retained_under or "")
        name = str(entry.model._meta.verbose_name_plural)
        if rule is None:
            lines.append(_("%(table)s: %(n)s baris disimpan tanpa data pribadi.") % {"table": name, "n": n})
            continue
        lines.append(_(
            "%(table)s: %(n)s baris disimpan tanpa data pribadi, karena %(rule)s (%(basis)s), selama %(period)s "
            "%(unit)s%(from_year)s."
        ) % {
            "table": name, "n": n, "rule": rule.title, "basis": rule.legal_basis.strip().splitlines()[0],
            "period": rule.period, "unit": rule.get_unit_display(),
            "from_year": _(" sejak akhir tahun buku") if rule.from_end_of_financial_year else "",
        })
    return lines


def link_text(request: DataSubjectRequest, package: AccessPackage) -> str:
    """What the requester of an access or portability request is told: where to download it."""
    return _(
        "Paket data Anda untuk permintaan %(ref)s sudah siap. Unduh di:\n%(url)s\n\nTautan ini berlaku sampai "
        "%(until)s dan dapat dipakai %(downloads)s kali; setelah itu paketnya dihapus. Jangan bagikan tautan ini."
    ) % {
        "ref": request.reference, "url": package_url(package), "until": format_due(package.expires_at),
        "downloads": AccessPackage.MAX_DOWNLOADS,
    }


def summary_text(request: DataSubjectRequest, execution: RequestExecution) -> str:
    """The requester's summary: what is erased, what is kept, why and until when (or the closure)."""
    if execution.mode == RequestExecution.Mode.CLOSURE:
        closed = execution.steps.get("closure", {}).get("closed", [])
        dates = ", ".join(format_due(datetime.fromisoformat(c["purge_due"])) for c in closed)
        return _(
            "Anda adalah pemilik merchant yang masih aktif. Sesuai kebijakan privasi, permintaan %(ref)s kami "
            "laksanakan sebagai penutupan akun: langganan dihentikan sekarang, dan data usaha Anda dihapus setelah "
            "masa tenggang (%(dates)s), kecuali yang wajib disimpan menurut peraturan (dianonimkan). Selama masa "
            "tenggang, akun dapat diaktifkan kembali."
        ) % {"ref": request.reference, "dates": dates}
    dry_run = execution.steps.get("dry_run", {})
    counts = dry_run.get("counts", {})
    erased = erased_lines(counts) or [_("Tidak ada baris yang dihapus seluruhnya.")]
    kept = kept_lines(counts) or [_("Tidak ada.")]
    parts = [
        _("Permintaan penghapusan %(ref)s sedang kami laksanakan. Setelah pesan ini, data Anda dihapus; pesan ini "
          "pun tidak akan tersimpan lagi dengan alamat Anda.") % {"ref": request.reference},
        _("Yang dihapus:"), *("- " + line for line in erased),
        _("Yang disimpan (tanpa data yang mengenali Anda), alasannya dan sampai kapan:"), *("- " + line for line in kept),
    ]
    if dry_run.get("kept"):
        parts += [_("Penahanan hukum:"), "- " + dry_run["kept"]]
    notices = execution.steps.get("notices", {}).get("notices", [])
    if notices:
        parts.append(_("Kami juga memberi tahu %(n)s penerima data Anda tentang penghapusan ini.") % {"n": len(notices)})
    return "\n".join(parts)


def ledger_result(request: DataSubjectRequest) -> str:
    """What a withdrawal, restriction or objection does, for her and for the officer: the purposes
    it names (in the active language) and what each now means for her data."""
    language = translation.get_language() or "id"
    names = [p.name(language) for p in request.purposes.order_by("number")]
    intro = {
        Right.WITHDRAWAL: _("Persetujuan atau kesediaan Anda untuk tujuan berikut dicatat sebagai ditarik. Data Anda "
                            "tidak lagi diproses untuk tujuan ini, dan JUNOPOS memeriksa catatan ini sebelum "
                            "memprosesnya:"),
        Right.OBJECTION: _("Keberatan Anda terhadap pemrosesan untuk tujuan berikut dicatat. Pemrosesan berdasarkan "
                           "kepentingan yang sah untuk tujuan ini dihentikan:"),
        Right.RESTRICTION: _("Pemrosesan data Anda untuk tujuan berikut dibatasi: data Anda tetap disimpan, tetapi "
                             "tidak digunakan untuk tujuan ini sampai pembatasan dicabut (kecuali yang diwajibkan "
                             "oleh peraturan):"),
    }[request.right]
    if not names:
        return intro + "\n- " + _("(tidak ada tujuan yang disebut)")
    return intro + "\n" + "\n".join(f"- {name}" for name in names)
