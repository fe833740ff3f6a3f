"""Access packages: build one (streamed, requests_portal.export), serve it through its signed link,
delete its file when the link expires or its subject is erased.

- Build: the ZIP is written outside any transaction (it may take minutes); the row and the
  request's event are written in one transaction once the file is complete, and the file is
  removed if that fails, so a package row always has its file until it is marked deleted.
- Download: the signed token names the package id (salted: a status link's token opens
  nothing here). Under the package's row lock: refused when deleted, expired or used
  MAX_DOWNLOADS times; else counted, recorded (AccessDownload, and an event on the request), and
  the file opened before the lock is released, so a concurrent expiry cannot delete it between
  the count and the serving (an open file outlives its unlink).
- Expiry and erasure: under the row lock, unlink the file, then mark the row; both select only
  rows not yet marked and ignore a file already gone, so a second run, or a run after a crash
  between the two, finishes the work and then does nothing.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from merchants.identifiers import normalize_email, normalize_phone
from retention.pseudonyms import pseudonym

from .. import export
from ..exceptions import RequestError
from ..models import (
    CLOSED_STATES, OPEN_STATES, AccessDownload, AccessPackage, DataSubjectRequest, Right, State,
)
from ..notifications import absolute
from .common import REQUESTER, SYSTEM, transition

DOWNLOAD_SALT = "requests_portal.package_download"
PACKAGE_DIR = "access"
# Packages whose files one expiry pass deletes per transaction.
EXPIRE_BATCH = 100


class DownloadRefused(RequestError):
    """A download link that opens nothing: `status` 404 (not a link of ours) or 410 (no longer)."""

    def __init__(self, message, *, status: int):
        super().__init__(message)
        self.status = status


def package_path(package: AccessPackage):
    return settings.PRIVATE_MEDIA_DIR / package.path


def access_package_build(*, request_id: int) -> AccessPackage:
    """The request's access (or portability) package, streamed into a new file, and its row."""
    request = DataSubjectRequest.objects.get(pk=request_id)
    if request.right not in (Right.ACCESS, Right.PORTABILITY):
        raise RequestError(_("Hanya permintaan akses atau portabilitas yang mendapat paket data."))
    if request.verified_at is None:
        raise RequestError(_("Identitas pemohon belum terverifikasi: tidak ada paket data."))
    allowed = {State.APPROVED, State.PROCESSING}
    if request.state not in allowed:
        raise RequestError(
            _("Permintaan %(ref)s berstatus “%(state)s”: paket data dibuat setelah disetujui.")
            % {"ref": request.reference, "state": request.get_state_display()}
        )
    relative = f"{PACKAGE_DIR}/{secrets.token_hex(16)}.zip"
    target = settings.PRIVATE_MEDIA_DIR / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    sha256, size = export.write_package(request, target)
    holder: dict[str, AccessPackage] = {}

    def change(request, now):
        holder["package"] = AccessPackage.objects.create(
            request=request, path=relative, sha256=sha256, size=size, created_at=now,
            expires_at=now + timedelta(days=AccessPackage.LIFETIME_DAYS),
        )

    try:
        transition(
            request_id, verb="package_built", what=_("membuat paket data"), allowed_from=allowed,
            actor_kind=SYSTEM, note=f"{relative} sha256={sha256} size={size}", change=change,
        )
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return holder["package"]


def package_token(package: AccessPackage) -> str:
    return signing.dumps({"p": package.pk}, salt=DOWNLOAD_SALT, compress=True)


def package_url(package: AccessPackage) -> str:
    return absolute(reverse("portal:package_download", args=[package_token(package)]))


def package_id_from_token(token: str) -> int | None:
    try:
        data = signing.loads(token, salt=DOWNLOAD_SALT)
    except signing.BadSignature:
        return None
    pk = data.get("p") if isinstance(data, dict) else None
    return pk if isinstance(pk, int) else None


def access_package_download(*, token: str, ip: str | None = None):
    """Count and record one download; returns (package, open binary file). Raises DownloadRefused."""
    pk = package_id_from_token(token)
    if pk is None:
        raise DownloadRefused(_("Tautan unduhan ini tidak lengkap atau telah diubah."), status=404)
    holder: dict = {}

    def change(request, now):
        package = AccessPackage.objects.select_for_update().get(pk=pk)
        if package.deleted_at is not None:
            raise DownloadRefused(_("Paket data ini sudah dihapus."), status=410)
        if now >= package.expires_at:
            raise DownloadRefused(_("Tautan unduhan ini sudah kedaluwarsa."), status=410)
        if package.downloads >= AccessPackage.MAX_DOWNLOADS:
            raise DownloadRefused(
                _("Paket data ini sudah diunduh %(count)d kali, batas yang berlaku.") % {"count": package.downloads},
                status=410,
            )
        try:
            holder["file"] = open(package_path(package), "rb")  # noqa: SIM115 (FileResponse closes it)
        except FileNotFoundError:
            raise DownloadRefused(_("Paket data ini sudah dihapus."), status=410) from None
        package.downloads += 1
        package.save(update_fields=["downloads"])
        AccessDownload.objects.create(package=package, at=now, ip=ip or None)
        holder["package"] = package

    request_id = AccessPackage.objects.filter(pk=pk).values_list("request_id", flat=True).first()
    if request_id is None:
        raise DownloadRefused(_("Tautan unduhan ini tidak lengkap atau telah diubah."), status=404)
    try:
        transition(
            request_id, verb="package_downloaded", what=_("mengunduh paket data"),
            allowed_from=OPEN_STATES | CLOSED_STATES, actor_kind=REQUESTER, note=str(pk), change=change,
        )
    except BaseException:
        if "file" in holder:
            holder["file"].close()
        raise
    return holder["package"], holder["file"]


def access_package_files_delete(packages: QuerySet) -> int:
    """Unlink the files of `packages` not yet marked, and mark them; the number marked."""
    deleted = 0
    now = timezone.now()
    ids = list(packages.filter(deleted_at__isnull=True).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), EXPIRE_BATCH):
        with transaction.atomic():
            batch = AccessPackage.objects.select_for_update(skip_locked=True).filter(
                pk__in=ids[start:start + EXPIRE_BATCH], deleted_at__isnull=True
            )
            for package in batch:
                package_path(package).unlink(missing_ok=True)
                package_path(package).with_name(package_path(package).name + ".part").unlink(missing_ok=True)
                package.deleted_at = now
                package.save(update_fields=["deleted_at"])
                deleted += 1
    return deleted


def access_packages_expire(*, now=None) -> int:
    """Delete the files whose link has ended (expired, or every download used); mark the rows."""
    now = now or timezone.now()
    ended = AccessPackage.objects.filter(
        Q(expires_at__lte=now) | Q(downloads__gte=AccessPackage.MAX_DOWNLOADS), deleted_at__isnull=True
    )
    return access_package_files_delete(ended)


def subject_packages(*, email: str | None = None, phone: str | None = None) -> QuerySet:
    """The packages of every request of this subject, by her addresses or their keyed hashes (an
    erasure hashes the request's addresses before its hooks run)."""
    email, phone = normalize_email(email), normalize_phone(phone)
    condition = Q(pk__in=[])
    if email:
        condition |= Q(request__email__iexact=email) | Q(request__email=pseudonym(email, kind="email"))
    if phone:
        condition |= Q(request__phone=phone) | Q(request__phone=pseudonym(phone, kind="phone"))
    return AccessPackage.objects.filter(condition, deleted_at__isnull=True)
