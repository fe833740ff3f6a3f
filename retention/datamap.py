"""What in retention's own tables is personal.

Rules, churn events, schedules and erasure records hold no personal data (an erasure record
keeps only keyed hashes and counts). A legal hold names the subject it protects: that is
kept while the hold lasts, and never shown in an access package (no lookup is declared).
"""

from .models import ChurnEvent, ErasureRun, LegalHold, PurgeSchedule, PurgeWarning, RetentionRule
from .registry import Category as C
from .registry import FieldErasure as E
from .registry import Personal, RowErasure, datamap

datamap.exempt_model(RetentionRule, reason="Aturan retensi: teks hukum, bukan data pribadi.")
datamap.exempt_model(ChurnEvent, reason="Tanggal berhenti/aktif kembali merchant; tanpa data pribadi.")
datamap.exempt_model(PurgeSchedule, reason="Jadwal penghapusan per merchant; tanpa data pribadi.")
datamap.exempt_model(
    PurgeWarning, reason="Peringatan: hari dan waktu; alamat dan isinya ada di pesan keluar (messaging)."
)
datamap.exempt_model(
    ErasureRun,
    reason="Bukti penghapusan: jumlah per tabel dan hash berkunci, tanpa isi. Pengenal penghapusan subjek yang "
    "belum selesai hanya tersegel (terenkripsi) dan dikosongkan saat selesai.",
)

datamap.register(
    LegalHold,
    description="Penahanan hukum: menghentikan penghapusan yang dicakupnya.",
    erasure=RowErasure.ANONYMISE,
    retained_under="legal-hold",
    personal={
        "subject_email": Personal(C.CONTACT, erase=E.RETAIN),
        "subject_phone": Personal(C.CONTACT, erase=E.RETAIN),
        "detail": Personal(C.IDENTIFICATION, erase=E.RETAIN),
    },
    not_personal=(
        "id", "merchant", "reason", "placed_by", "placed_at", "ends_at", "lifted_by", "lifted_at", "lift_reason",
    ),
)
