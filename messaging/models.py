"""The outbox: every message the portal sends, one row each, whatever the channel.

A message is written in the transaction of the work that asks for it and sent after that
transaction commits, by a task with its own retries and back-off: a mail server that is down
never undoes or stops that work, and a warning counts as given only once it was sent. A sent
message is personal data (its address, its text): messaging/datamap.py declares it, and an
erasure keeps only the proof that it was sent (when, how, to a keyed hash of the address).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant


class OutboundMessage(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", _("e-mail")
        SMS = "sms", _("SMS")
        WHATSAPP = "whatsapp", _("WhatsApp")

    class State(models.TextChoices):
        QUEUED = "queued", _("menunggu dikirim")
        SENDING = "sending", _("sedang dikirim")
        SENT = "sent", _("terkirim")
        # The receiving server refused the address for good: trying again cannot help.
        REFUSED = "refused", _("ditolak (alamat tidak dapat menerima)")
        FAILED = "failed", _("gagal (percobaan habis)")

    channel = models.CharField(_("saluran"), max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    kind = models.SlugField(_("jenis"), max_length=64, help_text=_("Mis. purge_warning: untuk apa pesan ini."))
    # The address as it was sent to; an erasure replaces it by a keyed hash (64 characters).
    to_email = models.EmailField(_("e-mail tujuan"), max_length=254, blank=True)
    to_phone = models.CharField(_("telepon tujuan (E.164)"), max_length=64, blank=True)
    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("merchant"),
        db_index=False,
    )
    language = models.CharField(_("bahasa"), max_length=8, default="id")
    subject = models.CharField(_("subjek"), max_length=300, blank=True)
    body = models.TextField(_("isi"), blank=True)
    # Extra e-mail headers, e.g. a marketing e-mail's List-Unsubscribe (RFC 8058). Its signed link
    # names this message, not the address, but says which marketing she was sent: the data map
    # treats the headers as personal (erased to NULL).
    headers = models.JSONField(_("header tambahan"), null=True, blank=True, default=dict)
    state = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveIntegerField(_("percobaan"), default=0)
    last_error = models.TextField(_("galat terakhir"), blank=True)
    # While SENDING: until when the sending worker holds it (a dead worker's message goes back).
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    sent_at = models.DateTimeField(_("terkirim"), null=True, blank=True)

    class Meta:
        verbose_name = _("pesan keluar")
        verbose_name_plural = _("pesan keluar")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["merchant", "id"], name="message_merchant_id"),
            models.Index(fields=["state", "lease_until"], name="message_state_lease"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(to_email="") | ~models.Q(to_phone=""), name="message_has_an_address"
            ),
        ]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.get_state_display()})"
