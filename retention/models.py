from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class RetentionRule(models.Model):
    """What is kept, how long and why. Data, not code, so a lawyer can correct it without a release.

    The data map names rules by `key`; the legal basis is shown to officers and in exports.
    """

    class Trigger(models.TextChoices):
        MERCHANT_CHURNED = "merchant_churned", _("merchant berhenti berlangganan")
        RECORD_AGE = "record_age", _("umur catatan")
        REQUEST_COMPLETED = "request_completed", _("permintaan selesai")
        ERASURE = "erasure", _("sejak penghapusan")

    class Action(models.TextChoices):
        DELETE = "delete", _("hapus")
        ANONYMISE = "anonymise", _("anonimkan")

    class Unit(models.TextChoices):
        DAYS = "days", _("hari")
        YEARS = "years", _("tahun")

    key = models.SlugField(_("kunci"), max_length=64, unique=True)
    title = models.CharField(_("judul"), max_length=200)
    legal_basis = models.TextField(_("dasar hukum"))
    trigger = models.CharField(_("pemicu"), max_length=32, choices=Trigger.choices)
    period = models.PositiveIntegerField(_("masa"))
    unit = models.CharField(_("satuan"), max_length=8, choices=Unit.choices, default=Unit.DAYS)
    from_end_of_financial_year = models.BooleanField(
        _("dihitung dari akhir tahun buku"), default=False,
        help_text=_("Masa dihitung dari akhir tahun buku catatan, bukan dari tanggalnya."),
    )
    action = models.CharField(_("tindakan di akhir masa"), max_length=16, choices=Action.choices)
    notes = models.TextField(_("catatan"), blank=True)
    updated_at = models.DateTimeField(_("diubah"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("aturan retensi")
        verbose_name_plural = _("aturan retensi")
        ordering = ["key"]

    def __str__(self):
        return f"{self.title} ({self.key})"

    @property
    def period_display(self) -> str:
        return f"{self.period} {self.get_unit_display()}"
