"""The rights a data subject has under the JUNOPOS privacy policy and UU PDP, as the home page
explains them.

Every right but "information" can be asked with a form (`/permintaan/<key>/`, the key being
`models.Right`'s value); "information" is explained only: the home page and the policy answer it,
and the contact details are there for a question.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from retention.registry import Category


@dataclass(frozen=True)
class Right:
    key: str
    title: Promise
    summary: Promise
    # The article of UU No. 27 Tahun 2022 (UU PDP) that grants it.
    law: Promise
    # What we will do once the request is approved, in plain words (the request form says it).
    outcome: Promise | None = None
    # The request form of this right (`portal:request_form` with the key), or None: explained only.
    url_name: str | None = "portal:request_form"

    @property
    def url(self) -> str | None:
        return reverse(self.url_name, args=[self.key]) if self.url_name else None


RIGHTS: tuple[Right, ...] = (
    Right(
        key="information",
        title=_("Mendapatkan informasi"),
        summary=_(
            "Mengetahui siapa yang memproses data pribadi Anda, atas dasar hukum apa, untuk tujuan "
            "apa, dan siapa yang bertanggung jawab."
        ),
        law=_("UU PDP Pasal 5"),
        url_name=None,
    ),
    Right(
        key="access",
        title=_("Akses dan salinan data"),
        summary=_("Melihat data pribadi Anda yang kami simpan dan memperoleh salinannya."),
        law=_("UU PDP Pasal 7"),
        outcome=_(
            "Anda menerima tautan untuk mengunduh salinan data Anda (berkas ZIP), beserta untuk apa "
            "data itu dipakai, kepada siapa diberikan, dan berapa lama disimpan."
        ),
    ),
    Right(
        key="portability",
        title=_("Portabilitas data"),
        summary=_(
            "Menerima data Anda dalam format yang lazim dan dapat dibaca mesin, untuk Anda gunakan "
            "sendiri atau kirimkan ke penyedia layanan lain."
        ),
        law=_("UU PDP Pasal 13"),
        outcome=_(
            "Anda menerima tautan untuk mengunduh data Anda dalam format JSON dan CSV yang dapat "
            "dibaca mesin."
        ),
    ),
    Right(
        key="correction",
        title=_("Perbaikan data"),
        summary=_(
            "Melengkapi, memperbarui, atau memperbaiki data yang salah atau tidak akurat. Kami dapat "
            "menanyakan alasannya dan memverifikasi data terlebih dahulu, dan dapat menolak "
            "perubahan atas data pihak lain yang bukan wewenang Anda."
        ),
        law=_("UU PDP Pasal 6"),
        outcome=_(
            "Kami memperbaiki data tersebut di setiap tempat kami menyimpannya dan memberi tahu Anda "
            "hasilnya. Perubahan atas data orang lain dapat kami tolak."
        ),
    ),
    Right(
        key="deletion",
        title=_("Penghapusan data"),
        summary=_(
            "Meminta kami mengakhiri pemrosesan dan menghapus data pribadi Anda. Catatan yang wajib "
            "disimpan menurut undang-undang, seperti catatan penjualan untuk pajak, disimpan "
            "selama masa yang diwajibkan dalam bentuk yang tidak lagi menunjuk kepada Anda, lalu "
            "dihapus."
        ),
        law=_("UU PDP Pasal 8"),
        outcome=_(
            "Kami menghapus data pribadi Anda dan memberi tahu pihak yang pernah menerimanya. Catatan "
            "yang wajib disimpan menurut undang-undang (mis. catatan penjualan untuk pajak, 10 tahun) "
            "dianonimkan, lalu dihapus setelah masanya berakhir."
        ),
    ),
    Right(
        key="withdrawal",
        title=_("Menarik persetujuan"),
        summary=_(
            "Menarik kembali persetujuan yang pernah Anda berikan, misalnya untuk menerima promosi "
            "atau untuk pengungkapan data kepada pihak ketiga."
        ),
        law=_("UU PDP Pasal 9"),
        outcome=_(
            "Kami berhenti memakai data Anda untuk tujuan yang persetujuannya Anda tarik, dan mencatat "
            "penarikan itu."
        ),
    ),
    Right(
        key="restriction",
        title=_("Menunda atau membatasi pemrosesan"),
        summary=_("Meminta kami menunda atau membatasi pemrosesan data Anda sesuai dengan tujuannya."),
        law=_("UU PDP Pasal 11"),
        outcome=_(
            "Kami menunda atau membatasi pemrosesan yang Anda sebut, dan memberi tahu Anda bila sudah "
            "dilakukan."
        ),
    ),
    Right(
        key="objection",
        title=_("Keberatan"),
        summary=_(
            "Mengajukan keberatan atas keputusan yang diambil semata-mata melalui pemrosesan "
            "otomatis, termasuk profiling, yang berdampak hukum atau berdampak besar bagi Anda."
        ),
        law=_("UU PDP Pasal 10"),
        outcome=_(
            "Petugas kami meninjau keputusan tersebut dan memberi tahu Anda hasilnya."
        ),
    ),
    Right(
        key="appeal",
        title=_("Banding atas penolakan"),
        summary=_(
            "Jika kami menolak permintaan Anda dan Anda tidak setuju, ajukan banding dengan "
            "menyebut nomor permintaan yang ditolak. Kami menimbangnya kembali dalam 30 hari; "
            "setelah itu sengketa dapat dibawa ke arbitrase BANI."
        ),
        law=_("Kebijakan Privasi JUNOPOS"),
        outcome=_(
            "Petugas lain meninjau kembali penolakan itu. Jika Anda tetap tidak setuju, sengketa dapat "
            "dibawa ke arbitrase BANI."
        ),
    ),
)

RIGHTS_BY_KEY = {right.key: right for right in RIGHTS}


# What each category of the policy covers, in the policy's own words (Pengumpulan Data).
CATEGORY_EXAMPLES = {
    Category.IDENTITY: _("nama, jenis kelamin, tanggal lahir, usia, nama akun dan kata sandi"),
    Category.IDENTIFICATION: _("nomor kartu identitas dan nomor kartu loyalitas"),
    Category.CONTACT: _(
        "alamat kantor, alamat penagihan, alamat pengiriman, alamat e-mail, nomor telepon dan "
        "data penanggung jawab (contact person)"
    ),
    Category.PROFESSIONAL: _(
        "tingkat otorisasi, jabatan, informasi perusahaan dan usaha, tempat kerja, dan data lain "
        "tentang manajemen dan penjualan usaha Anda"
    ),
    Category.FINANCIAL: _("bank, rekening bank, kartu kredit dan rincian keuangan lainnya"),
    Category.TRANSACTION: _(
        "rincian pembayaran, dokumen penjualan, lokasi merchant dan produk atau layanan yang "
        "dibeli"
    ),
    Category.MARKETING: _("preferensi Anda dalam menerima materi pemasaran dan komunikasi dari kami dan mitra kami"),
    Category.TECHNICAL: _(
        "alamat IP, ID perangkat atau ID pengguna, versi perangkat lunak, jenis sistem, tanggal "
        "dan waktu, rincian transaksi, dan lokasi geografis (geo-location)"
    ),
}


def data_categories() -> list[dict]:
    """The eight categories of the policy, each with what it covers."""
    return [
        {"key": category.value, "label": category.label, "examples": CATEGORY_EXAMPLES.get(category, "")}
        for category in Category
    ]
