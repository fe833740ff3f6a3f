import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import Action as ConsentAction
from consent.models import Channel as ConsentChannel
from consent.models import Disclosure
from requests_portal.dossier import JAKARTA, Dossier, DossierError, dossier_data, merchant_dossier, subject_dossier
from requests_portal.models import Channel, Right, State
from retention.models import ErasureRun, PurgeSchedule
from retention.registry import Category

BAD_ARGUMENTS = 2


class Command(BaseCommand):
    help = (
        "The regulator's view of one data subject (--email/--phone) or one merchant (--merchant/--tax-number): "
        "what the data map holds now per table and category (counts only), every request and step with its "
        "actor and time, every erasure run with what was kept and under which rule, consent and disclosures, "
        "and whether each request's audit chain verifies. Works for an erased subject and a purged merchant "
        "(matched by keyed hash). Exit status 2 on bad arguments."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", help="the data subject's e-mail")
        parser.add_argument("--phone", help="the data subject's phone, in any spelling")
        parser.add_argument("--merchant", type=int, help="a merchant id (purged ones included)")
        parser.add_argument("--tax-number", help="a merchant's NPWP (matched by keyed hash after a purge)")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args, email=None, phone=None, merchant=None, tax_number=None, format="text", **options):
        subject_given = bool(email or phone)
        merchant_given = merchant is not None or bool(tax_number)
        if subject_given == merchant_given:
            raise CommandError(
                _("Sebutkan subjek data (--email dan/atau --phone) atau satu merchant (--merchant atau --tax-number)."),
                returncode=BAD_ARGUMENTS,
            )
        if merchant is not None and tax_number:
            raise CommandError(_("Sebutkan --merchant atau --tax-number, bukan keduanya."), returncode=BAD_ARGUMENTS)
        try:
            if subject_given:
                dossier = subject_dossier(email=email, phone=phone)
            else:
                dossier = merchant_dossier(merchant_id=merchant, tax_number=tax_number)
        except DossierError as exc:
            raise CommandError(str(exc), returncode=BAD_ARGUMENTS) from None
        if format == "json":
            self.stdout.write(json.dumps(dossier_data(dossier), ensure_ascii=False, indent=2, sort_keys=True))
        else:
            self.stdout.write("\n".join(Text(dossier).lines()))


def when(moment) -> str:
    if moment is None:
        return "-"
    return timezone.localtime(moment, JAKARTA).strftime("%Y-%m-%d %H:%M:%S WIB")


def label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value or "-"


class Text:
    """The dossier as a person reads it: Indonesian headings, times in WIB."""

    def __init__(self, dossier: Dossier):
        self.d = dossier
        self.out: list[str] = []

    def lines(self) -> list[str]:
        d = self.d
        if d.kind == "subject":
            self.out.append(_("DOSIR SUBJEK DATA"))
            for kind, value in sorted(d.subject_hashes.items()):
                self.out.append("  " + _("pseudonim %(kind)s: %(hash)s") % {"kind": kind, "hash": value})
        else:
            self.merchant()
        if not d.found:
            self.out.append("")
            self.out.append(_("Tidak ada data maupun catatan apa pun untuk ini."))
        self.holdings(_("Data yang disimpan sekarang (jumlah baris)"), d.holdings)
        if d.kind == "subject":
            self.holdings(_("Disimpan di bawah pseudonim (bukti yang wajib disimpan)"), d.held_under_keyed_hash)
        self.requests()
        self.runs()
        self.consent()
        self.disclosures()
        return self.out

    def heading(self, text: str) -> None:
        self.out += ["", f"== {text} =="]

    def none(self) -> None:
        self.out.append("  " + _("Tidak ada."))

    def merchant(self) -> None:
        m = self.d.merchant
        self.out.append(_("DOSIR MERCHANT %(id)s") % {"id": m.merchant_id})
        if not m.exists:
            state = _("baris merchant tidak ada lagi")
        elif m.tombstone:
            state = _("dihapus; tersisa nisan (pengenal diganti hash berkunci)")
        else:
            state = _("ada")
        self.out.append("  " + _("Status: %(state)s") % {"state": state})
        self.out.append("  " + _("Berhenti berlangganan: %(at)s") % {"at": when(m.churned_at)})
        if m.schedule_state:
            self.out.append("  " + _("Jadwal penghapusan: %(state)s, jatuh tempo %(due)s, dihapus %(purged)s") % {
                "state": label(PurgeSchedule.State, m.schedule_state), "due": when(m.due_at), "purged": when(m.purged_at),
            })
            self.out.append("  " + _("Aturan: %(title)s (%(key)s)") % {"title": m.rule_title, "key": m.rule})
        for hold in m.active_holds:
            self.out.append("  " + _("Penahanan hukum aktif: %(hold)s") % {"hold": hold})

    def holdings(self, title, holdings) -> None:
        self.heading(title)
        if not holdings.tables:
            self.none()
            return
        for t in holdings.tables:
            self.out.append(f"  {t.name} ({t.table}): {t.count}")
        self.out.append("  " + _("Per kategori:"))
        for category, n in holdings.by_category.items():
            self.out.append(f"    {label(Category, category)}: {n}")

    def requests(self) -> None:
        self.heading(_("Permintaan subjek data"))
        if not self.d.requests:
            self.none()
        for r in self.d.requests:
            self.out.append(f"  {r.reference}  {label(Right, r.right)}  [{label(State, r.state)}]  "
                            f"{label(Channel, r.channel)}  {when(r.created_at)}")
            chain = _("utuh") if r.chain_intact else _("RUSAK: %(problem)s") % {"problem": r.chain_problem}
            self.out.append("    " + _("Rantai audit: %(chain)s") % {"chain": chain})
            for e in r.events:
                moved = f"  {e.from_state or '-'} -> {e.to_state}" if e.to_state else ""
                self.out.append(f"    #{e.seq:<3} {when(e.at)}  {e.verb:<20} {e.actor}{moved}")

    def runs(self) -> None:
        self.heading(_("Catatan penghapusan"))
        if not self.d.runs:
            self.none()
        for run in self.d.runs:
            dry = " " + _("(uji coba, tidak ada yang diubah)") if run.dry_run else ""
            self.out.append(f"  #{run.id} {label(ErasureRun.Kind, run.kind)}  [{label(ErasureRun.State, run.state)}]{dry}")
            self.out.append("    " + _("Mulai %(started)s, selesai %(finished)s") % {
                "started": when(run.started_at), "finished": when(run.finished_at),
            })
            if run.rule:
                self.out.append("    " + _("Aturan: %(title)s (%(key)s)") % {"title": run.rule_title, "key": run.rule})
            if run.stop_reason:
                self.out.append("    " + _("Keterangan: %(reason)s") % {"reason": run.stop_reason})
            for table, actions in sorted(run.counts.items()):
                for action, n in sorted(actions.items()):
                    self.out.append(f"    {table:45} {action:11} {n:>8}")
            for kept in run.kept:
                self.out.append("    " + _("Disimpan: %(table)s, %(rows)s baris, menurut %(title)s (%(key)s, %(period)s)") % {
                    "table": kept.table, "rows": kept.rows, "title": kept.rule_title or "-", "key": kept.rule or "-",
                    "period": kept.period or "-",
                })

    def consent(self) -> None:
        self.heading(_("Persetujuan"))
        d = self.d
        if not d.consent and not d.consent_totals:
            self.none()
        for c in d.consent:
            hashed = "  " + _("(di bawah pseudonim)") if c.under_keyed_hash else ""
            self.out.append(
                f"  {when(c.at)}  {c.purpose:<20} {label(ConsentAction, c.action):<20} "
                f"{label(ConsentChannel, c.channel)}  " + _("kebijakan %(version)s") % {"version": c.policy_version or "-"}
                + hashed
            )
        for t in d.consent_totals:
            self.out.append(f"  {t.purpose:<20} {label(ConsentAction, t.action):<20} {t.count:>8}")

    def disclosures(self) -> None:
        self.heading(_("Pengungkapan kepada pihak ketiga"))
        d = self.d
        if not d.disclosures and not d.disclosure_totals:
            self.none()
        for x in d.disclosures:
            refusal = f" ({label(Disclosure.Refusal, x.refusal)})" if x.refusal else ""
            self.out.append(
                f"  {when(x.at)}  {x.recipient} [{x.country}]  {x.purpose}  {', '.join(x.categories)}  "
                f"{label(Disclosure.Outcome, x.outcome)}{refusal}"
            )
            self.out.append("    " + _("Pemberitahuan penghapusan kepada penerima: %(state)s") % {
                "state": _("belum dicatat") if x.erasure_notified is None else (_("ya") if x.erasure_notified else _("tidak")),
            })
        for t in d.disclosure_totals:
            refusal = f" ({label(Disclosure.Refusal, t.refusal)})" if t.refusal else ""
            self.out.append(
                f"  {t.recipient} [{t.country}]  {t.purpose}  {label(Disclosure.Outcome, t.outcome)}{refusal}: "
                f"{t.count}  ({when(t.first_at)} .. {when(t.last_at)})"
            )
