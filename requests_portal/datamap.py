"""What in the portal's own request records is personal, and how the engine erases it.

A request is proof of how the controller answered a person: it is kept under the house rule
`request-records` (two years after the request closes: the policy's 30-day deliberation, then
BANI arbitration, with room for the proof to be asked for), then anonymised (the rule's action):
the engine's expiry of the records of no merchant, queued by the daily plan, erases every
request closed before the cutoff as a requester's erasure would, and the messages each sent
(`carries`). Erasing a requester keeps each request row and event (states, times, who acted,
the keyed hashes the audit chain covers) and removes the addresses (replaced by their keyed
hashes, so "did this person ask?" can still be answered by whoever knows the address), the
names, what the requester wrote and what the officers wrote to them. Codes and attachments go
whole. Requests belong to no merchant: a merchant's purge never erases the proof of a request
its customer made.
"""

from retention.registry import Category as C
from retention.registry import FieldErasure as E
from retention.registry import FindBy, Personal, RowErasure, datamap

from .models import (
    AuditAnchor, DataSubjectRequest, DeadlineRule, RequestAttachment, RequestEvent, RequestMessage, VerificationCode,
)

RULE = "request-records"

datamap.register(
    DataSubjectRequest,
    description="Permintaan subjek data: pemohon, kontaknya, isi permintaan dan penanganannya.",
    erasure=RowErasure.ANONYMISE,
    retained_under=RULE,
    merchant=None,
    dated_by="closed_at",
    personal={
        "email": Personal(C.CONTACT, find_by=FindBy.EMAIL, erase=E.HASH),
        "phone": Personal(C.CONTACT, find_by=FindBy.PHONE, erase=E.HASH),
        "requester_name": Personal(C.IDENTITY, erase=E.MASK),
        "subject_name": Personal(C.IDENTITY, erase=E.MASK),
        "shop_name": Personal(C.TRANSACTION, erase=E.NULL),
        # Which shop a customer buys at is personal in this row, though the shop is not.
        "merchant": Personal(C.TRANSACTION, erase=E.NULL),
        "details": Personal(C.IDENTITY, erase=E.NULL),
        "wrong_data": Personal(C.IDENTITY, erase=E.NULL),
        "correct_data": Personal(C.IDENTITY, erase=E.NULL),
        "reason": Personal(C.IDENTITY, erase=E.NULL),
        "original_message": Personal(C.CONTACT, erase=E.NULL),
        "identity_method": Personal(C.IDENTIFICATION, erase=E.NULL),
        # Officers' texts to the requester quote what the requester said.
        "refusal_text": Personal(C.IDENTITY, erase=E.NULL),
        "extension_reason": Personal(C.IDENTITY, erase=E.NULL),
    },
    not_personal=(
        "id", "public_id", "submission_key", "right", "state", "channel", "jurisdiction", "language",
        "subject_role", "is_representative", "appeal_of", "assignee", "prepared_by", "refusal_reason",
        "duplicate_of", "created_at", "verified_at", "due_at", "paused_at", "extended_at", "closed_at",
        "reminded_24h_for", "reminded_6h_for", "event_count", "head_hash", "purposes", "api_client", "external_id",
        "callback_url",
    ),
)

datamap.register(
    RequestEvent,
    description="Langkah-langkah penanganan permintaan (jejak audit berantai hash).",
    erasure=RowErasure.ANONYMISE,
    retained_under=RULE,
    merchant=None,
    subject_via=("request",),
    dated_by="request__closed_at",
    personal={
        # The chain covers their keyed hashes (note_digest, told_digest), which stay.
        "note": Personal(C.IDENTITY, erase=E.NULL),
        "told": Personal(C.CONTACT, erase=E.NULL),
    },
    not_personal=(
        "id", "request", "seq", "verb", "actor", "actor_kind", "from_state", "to_state", "created_at",
        "note_digest", "told_digest", "prev_hash", "hash", "anchor",
    ),
)

datamap.register(
    VerificationCode,
    description="Kode verifikasi identitas (hanya hash berkunci) dan alamat tujuannya.",
    merchant=None,
    subject_via=("request",),
    personal={"address": Personal(C.CONTACT)},
    not_personal=(
        "id", "request", "via", "code_hash", "link_hash", "created_at", "sent_at", "expires_at", "send_count",
        "failed_attempts", "used_at",
    ),
)

datamap.register(
    RequestAttachment,
    description="Berkas dari pemohon: surat kuasa dan lampiran jawaban.",
    merchant=None,
    subject_via=("request",),
    personal={
        "filename": Personal(C.IDENTITY),
        "content": Personal(C.IDENTIFICATION),
    },
    not_personal=("id", "request", "event", "kind", "content_type", "size", "sha256", "uploaded_at"),
)

datamap.register(
    RequestMessage,
    description="Tautan permintaan ke pesan keluarnya (pesannya sendiri dinyatakan di messaging).",
    erasure=RowErasure.ANONYMISE,
    retained_under=RULE,
    merchant=None,
    subject_via=("request",),
    dated_by="request__closed_at",
    # The message exists only for its request: a requester's erasure takes it with her request,
    # whoever it went to, and so does the end of the request's period (its address hashed, its
    # text removed: messaging's declaration says how).
    carries=("message",),
    personal={},
    not_personal=("id", "request", "message"),
)
datamap.exempt_model(DeadlineRule, reason="The deadline table: law, not people.")
datamap.exempt_model(AuditAnchor, reason="Hashes of hashes: the global audit chain names no one.")

from .models import StatusCallback  # noqa: E402  (appended with its model)

datamap.register(
    StatusCallback,
    description="Callback status ke sistem pengirim permintaan lewat API (OpenDSR): nomor, status, waktu.",
    erasure=RowErasure.ANONYMISE,
    retained_under=RULE,
    merchant=None,
    subject_via=("request",),
    dated_by="request__closed_at",
    # The payload holds the caller's id, the reference, the status and times: nothing that names
    # the person, as the request row's own not-personal fields; the error never holds the body.
    personal={},
    not_personal=(
        "id", "request", "url", "payload", "state", "attempts", "last_error", "lease_until", "created_at", "sent_at",
    ),
)

from .models import CorrectionItem  # noqa: E402  (appended with its model)

datamap.register(
    CorrectionItem,
    description="Butir perbaikan data: nilai lama dan baru per kolom, keputusan petugas dan alasannya.",
    erasure=RowErasure.ANONYMISE,
    retained_under=RULE,
    merchant=None,
    subject_via=("request",),
    dated_by="request__closed_at",
    personal={
        # The requester's data before and after, and the officer's reason told to her.
        "current_value": Personal(C.IDENTITY, erase=E.NULL),
        "proposed_value": Personal(C.IDENTITY, erase=E.NULL),
        "reason": Personal(C.IDENTITY, erase=E.NULL),
    },
    not_personal=(
        "id", "request", "app_label", "model_name", "row_pk", "field_name", "decision", "proposed_by", "proposed_at",
        "decided_by", "decided_at", "applied_at",
    ),
)

from .models import AccessDownload, AccessPackage  # noqa: E402  (appended with its models)

datamap.register(
    AccessPackage,
    description="Paket data akses/portabilitas yang dibuat untuk pemohon: berkas, hash, ukuran, masa tautan.",
    erasure=RowErasure.ANONYMISE,
    retained_under=RULE,
    merchant=None,
    subject_via=("request",),
    dated_by="request__closed_at",
    # The row names no one (a random file name, its hash and size): it stays as the proof that a
    # copy was given. The file is the copy itself: the hook below deletes it.
    personal={},
    not_personal=("id", "request", "path", "sha256", "size", "created_at", "expires_at", "downloads", "deleted_at"),
)

datamap.register(
    AccessDownload,
    description="Unduhan paket data: waktu dan alamat IP pengunduh.",
    merchant=None,
    subject_via=("package",),
    personal={"ip": Personal(C.TECHNICAL)},
    not_personal=("id", "package", "at"),
)

PACKAGES_HOOK = "access-packages"


def access_packages_erase(scope, *, dry_run: bool) -> dict[str, dict[str, int]]:
    """The erasure hook: an erased subject's access packages lose their file (the row is marked).

    Hooks run after the tables, when her request rows already hold keyed hashes of her
    addresses: packages are found by the plain address or its hash. A merchant's purge leaves
    them alone (requests belong to no merchant); an expiry finds none left (their link ended
    long before the request's period)."""
    if not scope.is_subject or scope.is_expiry:
        return {}
    from .services.export import access_package_files_delete, subject_packages

    packages = subject_packages(email=scope.email, phone=scope.phone)
    count = packages.count() if dry_run else access_package_files_delete(packages)
    return {f"{AccessPackage._meta.db_table}:file": {"deleted": count}} if count else {}


datamap.erasure_hook(PACKAGES_HOOK, access_packages_erase)

from .models import RequestExecution  # noqa: E402  (appended with its model)

datamap.exempt_model(
    RequestExecution,
    reason="Steps of an execution: step names, states, times, counts per table, run and message ids; "
    "errors as their kind and first line, never a row's content. Names no one.",
)
