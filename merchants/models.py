"""The JUNOPOS data that the portal governs.

In production these tables belong to JUNOPOS; here they are real models so that every path
(lookup, access, correction, erasure, purge) runs on real rows. What in them is personal, how
a subject is found in them and how they are erased is declared in merchants/datamap.py.

Every table that a purge or a lookup filters on carries `merchant` directly (sale lines and
payments too): a purge then walks one index per table instead of joining through sales.
Phones are stored as typed, with an indexed E.164 companion column that lookups use.
"""

from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

MONEY = {"max_digits": 14, "decimal_places": 2}


class Gender(models.TextChoices):
    FEMALE = "F", _("Perempuan")
    MALE = "M", _("Laki-laki")


class Merchant(models.Model):
    class Plan(models.TextChoices):
        FREE = "free", _("Gratis")
        BASIC = "basic", _("Basic")
        PRO = "pro", _("Pro")
        ENTERPRISE = "enterprise", _("Enterprise")

    business_name = models.CharField(_("nama usaha"), max_length=200)
    business_type = models.CharField(_("jenis usaha"), max_length=100, blank=True)
    tax_number = models.CharField(_("NPWP"), max_length=64, blank=True)
    owner_name = models.CharField(_("nama pemilik"), max_length=200)
    owner_gender = models.CharField(_("jenis kelamin pemilik"), max_length=1, choices=Gender.choices, blank=True)
    owner_birth_date = models.DateField(_("tanggal lahir pemilik"), null=True, blank=True)
    owner_id_number = models.CharField(_("NIK pemilik"), max_length=64, blank=True)
    owner_email = models.EmailField(_("e-mail pemilik"), max_length=254, blank=True)
    owner_phone = models.CharField(_("telepon pemilik"), max_length=32, blank=True)
    owner_phone_e164 = models.CharField(_("telepon pemilik (E.164)"), max_length=20, null=True, blank=True)
    office_address = models.TextField(_("alamat kantor"), blank=True)
    billing_address = models.TextField(_("alamat penagihan"), blank=True)
    plan = models.CharField(_("paket"), max_length=20, choices=Plan.choices, default=Plan.BASIC)
    subscription_started_at = models.DateTimeField(_("mulai berlangganan"))
    churned_at = models.DateTimeField(_("berhenti berlangganan"), null=True, blank=True, db_index=True)
    preferred_language = models.CharField(_("bahasa"), max_length=8, default="id")
    country_of_origin = models.CharField(
        _("negara asal"), max_length=2, default="ID", help_text=_("Kode ISO 3166-1; menentukan hukum data yang berlaku.")
    )
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchant")
        indexes = [
            models.Index(Upper("owner_email"), name="merchant_owner_email_ci"),
            models.Index(fields=["owner_phone_e164"], name="merchant_owner_phone"),
        ]

    def __str__(self):
        return self.business_name


class Outlet(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="outlets")
    name = models.CharField(_("nama outlet"), max_length=200)
    address = models.TextField(_("alamat"), blank=True)
    city = models.CharField(_("kota"), max_length=100, blank=True)
    latitude = models.DecimalField(_("lintang"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("bujur"), max_digits=9, decimal_places=6, null=True, blank=True)
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("outlet")
        verbose_name_plural = _("outlet")

    def __str__(self):
        return self.name


class StaffUser(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Pemilik")
        MANAGER = "manager", _("Manajer")
        CASHIER = "cashier", _("Kasir")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="staff")
    outlet = models.ForeignKey(Outlet, on_delete=models.SET_NULL, null=True, blank=True, related_name="staff")
    name = models.CharField(_("nama"), max_length=200)
    username = models.CharField(_("nama akun"), max_length=150)
    password_hash = models.CharField(_("kata sandi (hash)"), max_length=128, blank=True)
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    phone = models.CharField(_("telepon"), max_length=32, blank=True)
    phone_e164 = models.CharField(_("telepon (E.164)"), max_length=20, null=True, blank=True)
    job_title = models.CharField(_("jabatan"), max_length=100, blank=True)
    authorisation_level = models.CharField(_("tingkat otorisasi"), max_length=20, choices=Role.choices, default=Role.CASHIER)
    is_active = models.BooleanField(_("aktif"), default=True)
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("staf")
        verbose_name_plural = _("staf")
        constraints = [models.UniqueConstraint(fields=["merchant", "username"], name="staff_unique_username")]
        indexes = [
            models.Index(Upper("email"), name="staff_email_ci"),
            models.Index(fields=["phone_e164"], name="staff_phone"),
        ]

    def __str__(self):
        return self.name


class BankAccount(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="bank_accounts")
    bank_name = models.CharField(_("bank"), max_length=100)
    account_number = models.CharField(_("nomor rekening"), max_length=64)
    account_holder = models.CharField(_("nama pemilik rekening"), max_length=200)
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("rekening bank")
        verbose_name_plural = _("rekening bank")

    def __str__(self):
        return f"{self.bank_name} {self.account_number[-4:]}"


class LoyaltyCustomer(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="customers")
    name = models.CharField(_("nama"), max_length=200)
    gender = models.CharField(_("jenis kelamin"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("tanggal lahir"), null=True, blank=True)
    phone = models.CharField(_("telepon"), max_length=32, blank=True)
    phone_e164 = models.CharField(_("telepon (E.164)"), max_length=20, null=True, blank=True)
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    loyalty_card_number = models.CharField(_("nomor kartu loyalitas"), max_length=32)
    points = models.PositiveIntegerField(_("poin"), default=0)
    accepts_marketing = models.BooleanField(_("bersedia menerima promosi"), default=False)
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("pelanggan loyalitas")
        verbose_name_plural = _("pelanggan loyalitas")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "loyalty_card_number"], name="customer_unique_card"),
        ]
        indexes = [
            models.Index(Upper("email"), name="customer_email_ci"),
            models.Index(fields=["phone_e164"], name="customer_phone"),
        ]

    def __str__(self):
        return self.name


class Sale(models.Model):
    """A receipt. Sales are immutable records (a refund is a new sale), so no history table."""

    # Indexed by (merchant, id) below: the purge walks a merchant's rows in primary-key order.
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="sales", db_index=False)
    outlet = models.ForeignKey(Outlet, on_delete=models.CASCADE, related_name="sales")
    cashier = models.ForeignKey(StaffUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="sales")
    customer = models.ForeignKey(
        LoyaltyCustomer, on_delete=models.SET_NULL, null=True, blank=True, related_name="sales"
    )
    receipt_number = models.CharField(_("nomor struk"), max_length=40)
    receipt_email = models.EmailField(_("e-mail struk digital"), max_length=254, null=True, blank=True)
    receipt_phone = models.CharField(_("telepon struk digital"), max_length=32, null=True, blank=True)
    receipt_phone_e164 = models.CharField(_("telepon struk (E.164)"), max_length=20, null=True, blank=True)
    subtotal = models.DecimalField(_("subtotal"), **MONEY)
    tax = models.DecimalField(_("pajak"), **MONEY)
    total = models.DecimalField(_("total"), **MONEY)
    sold_at = models.DateTimeField(_("waktu penjualan"))

    class Meta:
        verbose_name = _("penjualan")
        verbose_name_plural = _("penjualan")
        constraints = [models.UniqueConstraint(fields=["merchant", "receipt_number"], name="sale_unique_receipt")]
        indexes = [
            models.Index(fields=["merchant", "id"], name="sale_merchant_id"),
            models.Index(fields=["merchant", "sold_at"], name="sale_merchant_sold_at"),
            models.Index(Upper("receipt_email"), name="sale_receipt_email_ci"),
            models.Index(fields=["receipt_phone_e164"], name="sale_receipt_phone"),
        ]

    def __str__(self):
        return self.receipt_number


class SaleLine(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="lines")
    product_name = models.CharField(_("produk"), max_length=200)
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    quantity = models.DecimalField(_("jumlah"), max_digits=10, decimal_places=3)
    unit_price = models.DecimalField(_("harga satuan"), **MONEY)
    line_total = models.DecimalField(_("total baris"), **MONEY)

    class Meta:
        verbose_name = _("baris penjualan")
        verbose_name_plural = _("baris penjualan")
        indexes = [models.Index(fields=["merchant", "id"], name="saleline_merchant_id")]


class Payment(models.Model):
    class Method(models.TextChoices):
        CASH = "cash", _("Tunai")
        DEBIT = "debit", _("Kartu debit")
        CREDIT = "credit", _("Kartu kredit")
        QRIS = "qris", _("QRIS")
        TRANSFER = "transfer", _("Transfer bank")
        EWALLET = "ewallet", _("Dompet digital")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="payments")
    method = models.CharField(_("metode"), max_length=20, choices=Method.choices)
    bank_name = models.CharField(_("bank"), max_length=100, null=True, blank=True)
    card_masked = models.CharField(_("nomor kartu (tersamar)"), max_length=32, null=True, blank=True)
    reference = models.CharField(_("referensi"), max_length=64, null=True, blank=True)
    amount = models.DecimalField(_("jumlah"), **MONEY)
    paid_at = models.DateTimeField(_("waktu bayar"))

    class Meta:
        verbose_name = _("pembayaran")
        verbose_name_plural = _("pembayaran")
        indexes = [models.Index(fields=["merchant", "id"], name="payment_merchant_id")]


class DeviceSession(models.Model):
    """A login of a staff user on a device: the automatically collected technical data."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="device_sessions", db_index=False)
    staff = models.ForeignKey(StaffUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions")
    device_id = models.CharField(_("ID perangkat"), max_length=64)
    ip_address = models.GenericIPAddressField(_("alamat IP"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    app_version = models.CharField(_("versi aplikasi"), max_length=20, blank=True)
    os_name = models.CharField(_("sistem operasi"), max_length=40, blank=True)
    latitude = models.DecimalField(_("lintang"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("bujur"), max_digits=9, decimal_places=6, null=True, blank=True)
    started_at = models.DateTimeField(_("mulai"))

    class Meta:
        verbose_name = _("sesi perangkat")
        verbose_name_plural = _("sesi perangkat")
        indexes = [
            models.Index(fields=["merchant", "id"], name="session_merchant_id"),
            models.Index(fields=["merchant", "started_at"], name="session_merchant_started"),
        ]
