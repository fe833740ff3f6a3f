"""The execution of an approved request (deletion, access, portability, withdrawal, restriction,
objection), in steps, resumable from the step that failed. What it writes (labels, counts, the
requester's texts) is in execution_texts.py.

Safety design
- One `RequestExecution` row per request records each step's outcome (done, skipped, failed with
  the error named) and what it produced; every step also leaves a `RequestEvent`. A step done is
  never done again: a resumed execution starts at the first step not done.
- One worker at a time: the execution is claimed by a token and a lease with a conditional UPDATE;
  a second copy of the task finds it claimed and returns. A dead worker's lease runs out and
  `request_executions_resume_stalled` queues it again.
- Order: (1) the dry run (counts per table, what holds keep); (2) account closure when the
  requester owns an active merchant (churn now, purge after grace: then no subject erasure);
  (3) erasure notices to recipients, planned while her address still identifies her;
  (4) the summary to her; (5) the erasure; (6) completion, with the real counts.
- The summary reaches her BEFORE the erasure, as its own step: the subject erasure anonymises
  every request of hers, this one included, and every outbox message sent to her (to_email
  hashed, body emptied). So step 4 writes the summary to the outbox and then, outside any
  transaction, sends it at once (`message_send`, the outbox's own claim: never twice); the
  erasure starts only once the message is settled. A send that fails for now fails the step
  (the erasure waits; resume tries again); an address that refuses for good is recorded and the
  erasure goes on (her right to erasure does not depend on her mailbox).
- Completion after an erasure tells her nothing more (her address is a keyed hash by then, and
  the summary already said what was done): it is the `completed` transition without a message.
- The erasure step records its run's id in the same transaction that starts the run (her
  identifiers sealed on it: retention.services.subject), then runs it. Resumed, it goes on with
  that run, never reading her address from the request again (the run itself erases it): a
  completed run is the step's outcome (the newest of its retries, if the DPO retried it from the
  runs admin meanwhile); an open one is continued (or, if the retention sweep's worker has it,
  or a passing database error gave its claim back, waited for: the execution is let go with a
  short lease and the sweep brings it back); a failed or stopped one is restarted as a new run
  from its seal (holds checked again) when an officer resumes the execution, never by the
  sweep on its own (a real error waits for a person).
- Access and portability have their own steps (PACKAGE_STEPS): (1) the package is built
  (outside a transaction: it may take minutes); a package of the request still on disk is taken
  as the step's outcome, so a crash between the build and its record builds nothing twice;
  (2) the requester is told the signed download link (7 days, 5 downloads) in her language, a
  message through the outbox like every answer, recorded with the message's id so that a resume
  does not tell her twice; (3) completion, without a second message.
- Withdrawal, restriction and objection have one step (CONSENT_STEPS): the ledger events (one
  per purpose the request names, with its reference: workflow._record_in_ledger), the step's
  record and the completion, with the message telling her what was recorded and what it means,
  all in one transaction: recorded and told together, or neither (a purpose the right cannot
  name fails the step, named, and nothing is written).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from consent.exceptions import ConsentError
from consent.services.notices import erasure_notices_plan
from junoprivacy.celery import enqueue_on_commit
from merchants.identifiers import normalize_email, normalize_phone
from merchants.models import Merchant
from messaging.models import OutboundMessage
from messaging.services import message_send
from retention.exceptions import RetentionError
from retention.models import ChurnEvent, ErasureRun
from retention.services.churn import merchant_churn
from retention.pseudonyms import is_pseudonym
from retention.services.common import TRANSIENT_DB_ERRORS
from retention.services.runs import describe
from retention.services.subject import (
    latest_retry, subject_erase, subject_erasure_continue, subject_erasure_restart, subject_erasure_start,
)

from ..exceptions import RequestError, TransitionRefused
from ..models import AccessPackage, DataSubjectRequest, RequestExecution, RequestMessage, Right, State
from .common import EXECUTE, SYSTEM, lock, require_actor, transition
from .execution_texts import counts_note, erased_lines, kept_lines, ledger_result, link_text, step_label, summary_text
from .export import access_package_build
from .workflow import LEDGER_RIGHTS, request_complete, request_start

TASK = "requests_portal.request_execute"
STEPS = ("dry_run", "closure", "notices", "summary", "erasure", "complete")
PACKAGE_STEPS = ("package", "link", "complete")
CONSENT_STEPS = ("ledger",)
PACKAGE_RIGHTS = (Right.ACCESS, Right.PORTABILITY)
CONSENT_RIGHTS = tuple(LEDGER_RIGHTS)
EXECUTABLE_RIGHTS = (Right.DELETION, *PACKAGE_RIGHTS, *CONSENT_RIGHTS)
DONE, SKIPPED, FAILED = "done", "skipped", "failed"
# How long a worker holds an execution before another may take it over.
LEASE = timedelta(minutes=30)
SUMMARY_KIND = "erasure_summary"
SETTLED = (OutboundMessage.State.SENT, OutboundMessage.State.REFUSED, OutboundMessage.State.FAILED)


# How soon an execution waiting for another worker's erasure run is looked at again.
WAIT = timedelta(minutes=1)


class StepFailed(Exception):
    """A step cannot go on; its message names why, for the officer who resumes it."""


class StepWaiting(Exception):
    """A step's work is in another worker's hands: let the execution go and come back later."""


# -- what officers see before they run it ---------------------------------------------------


def owned_active_merchants(email: str | None, phone: str | None) -> list[int]:
    """Merchants the requester owns that still use JUNOPOS (not churned)."""
    email, phone = normalize_email(email or None), normalize_phone(phone or None)
    condition = Q(pk__in=[])
    if email:
        condition |= Q(owner_email__iexact=email)
    if phone:
        condition |= Q(owner_phone_e164=phone)
    return sorted(Merchant.objects.filter(condition, churned_at__isnull=True).values_list("pk", flat=True))


def execution_preview(*, request_id: int, actor) -> list[str]:
    """What running (or resuming) the deletion would do, as lines for the confirmation page.

    For a first run the dry run is made now (recorded as a dry-run record); for a resume the
    recorded dry run and the failed step are shown."""
    require_actor(actor, EXECUTE, what=_("menjalankan permintaan"))
    request = DataSubjectRequest.objects.get(pk=request_id)
    execution = RequestExecution.objects.filter(request=request).first()
    if request.right in PACKAGE_RIGHTS:
        return package_preview(request, execution)
    if request.right in CONSENT_RIGHTS:
        return failed_lines(execution) + consent_preview(request)
    lines = []
    if execution is not None:
        lines += failed_lines(execution)
        counts = execution.steps.get("dry_run", {}).get("counts")
        kept = execution.steps.get("dry_run", {}).get("kept", "")
    else:
        owned = owned_active_merchants(request.email, request.phone)
        if owned:
            return [_("Pemohon pemilik merchant aktif (%(ids)s): akun ditutup (berhenti berlangganan sekarang, "
                      "data dihapus setelah masa tenggang), bukan penghapusan data subjek.") % {
                "ids": ", ".join(map(str, owned))}]
        run = subject_erase(email=request.email or None, phone=request.phone or None, actor=actor, dry_run=True)
        counts, kept = run.counts, run.stop_reason
    if counts is not None:
        lines += erased_lines(counts) + kept_lines(counts)
    if kept:
        lines.append(kept)
    return lines


def failed_lines(execution: RequestExecution | None) -> list[str]:
    if execution is None or execution.state != RequestExecution.State.FAILED:
        return []
    return [_("Langkah yang gagal: %(step)s (%(error)s).") % {"step": step_label(execution.step), "error": execution.error}]


def consent_preview(request: DataSubjectRequest) -> list[str]:
    """For the officer: the ledger entries to be written, and the message she will be sent."""
    action = {Right.WITHDRAWAL: _("ditarik"), Right.OBJECTION: _("keberatan"), Right.RESTRICTION: _("dibatasi")}
    lines = [
        _("Buku persetujuan: “%(purpose)s” (%(basis)s) dicatat %(action)s, dengan nomor %(ref)s.") % {
            "purpose": purpose.name(translation.get_language() or "id"), "basis": purpose.get_basis_display(),
            "action": action[request.right], "ref": request.reference,
        }
        for purpose in request.purposes.order_by("number")
    ]
    with translation.override(request.language):
        told = ledger_result(request)
    lines.append(_("Permintaan diselesaikan dan pemohon diberi tahu, dalam bahasanya:") + "\n" + told)
    return lines


def package_preview(request: DataSubjectRequest, execution: RequestExecution | None) -> list[str]:
    lines = failed_lines(execution)
    lines.append(_(
        "Paket data dibuat dari peta data untuk identitas terverifikasi, lalu tautan unduhannya (berlaku %(days)s "
        "hari, %(downloads)s kali unduh) dikirim kepada pemohon, dan permintaan diselesaikan."
    ) % {"days": AccessPackage.LIFETIME_DAYS, "downloads": AccessPackage.MAX_DOWNLOADS})
    return lines


# -- the service -----------------------------------------------------------------------------


def request_execution_queue(*, request_id: int, actor) -> RequestExecution | None:
    """An officer asks for the execution (or its resumption): checked now, carried out by the task."""
    require_actor(actor, EXECUTE, what=_("menjalankan permintaan"))
    with transaction.atomic():
        request = lock(request_id)
        _require_executable(request)
        execution = RequestExecution.objects.filter(request=request).first()
        if execution is None:
            if request.state != State.APPROVED:
                raise TransitionRefused(_("Hanya permintaan yang disetujui dapat dijalankan."))
        elif execution.state != RequestExecution.State.FAILED:
            raise TransitionRefused(_("Pelaksanaan permintaan ini sedang berjalan atau sudah selesai."))
        enqueue_on_commit(TASK, request_id, actor.pk)
    return execution


def request_execution_resume(*, request_id: int, actor) -> RequestExecution:
    """Resume a failed execution from the step that failed (the steps done are not done again)."""
    require_actor(actor, EXECUTE, what=_("melanjutkan pelaksanaan permintaan"))
    execution = RequestExecution.objects.filter(request_id=request_id).first()
    if execution is None or execution.state != RequestExecution.State.FAILED:
        raise TransitionRefused(_("Tidak ada pelaksanaan gagal yang dapat dilanjutkan untuk permintaan ini."))
    return request_execute(request_id=request_id, actor=actor)


def request_execute(*, request_id: int, actor=None) -> RequestExecution | None:
    """Carry out an approved deletion request, or go on with one in processing.

    Returns the execution (its `state` says how it ended: a failure is recorded, not raised),
    or None when another worker holds it. Call it outside any transaction (the task does): the
    summary is sent between two steps, after the commit that wrote it.
    """
    if actor is not None:
        require_actor(actor, EXECUTE, what=_("menjalankan permintaan"))
    execution = _begin(request_id, actor=actor)
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = (
        RequestExecution.objects.filter(pk=execution.pk)
        .exclude(state=RequestExecution.State.COMPLETED)
        .filter(Q(claimed_by="") | Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(
            claimed_by=token, lease_until=now + LEASE, state=RequestExecution.State.RUNNING, error="",
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        return None
    execution.refresh_from_db()
    runner = _Runner(execution, token=token, actor=actor)
    for step in steps_of(execution):
        if execution.steps.get(step, {}).get("state") in (DONE, SKIPPED):
            continue
        try:
            runner.run(step)
        except StepWaiting:
            runner.wait()
            break
        except Exception as exc:  # recorded for a person to see and resume; never half-hidden
            error = exc.args[0] if isinstance(exc, StepFailed) else _error_text(exc)
            runner.failed(step, str(error))
            break
    execution.refresh_from_db()
    return execution


def request_executions_resume_stalled(*, now=None) -> list[int]:
    """Executions whose worker died (a lease run out while running): queue them again."""
    now = now or timezone.now()
    ids = list(
        RequestExecution.objects.filter(state=RequestExecution.State.RUNNING, lease_until__lt=now)
        .values_list("request_id", flat=True)[:100]
    )
    for request_id in ids:
        enqueue_on_commit(TASK, request_id)
    return ids


def steps_of(execution: RequestExecution) -> tuple[str, ...]:
    if execution.mode in (RequestExecution.Mode.ACCESS, RequestExecution.Mode.PORTABILITY):
        return PACKAGE_STEPS
    if execution.mode == RequestExecution.Mode.CONSENT:
        return CONSENT_STEPS
    return STEPS


def _require_executable(request: DataSubjectRequest) -> None:
    if request.right not in EXECUTABLE_RIGHTS:
        raise TransitionRefused(_("Permintaan perbaikan dilaksanakan butir demi butir di halaman permintaannya, "
                                  "bukan dengan pelaksanaan bertahap."))


def _begin(request_id: int, *, actor) -> RequestExecution:
    with transaction.atomic():
        request = lock(request_id)
        _require_executable(request)
        execution = RequestExecution.objects.filter(request=request).first()
        if execution is None:
            if request.state != State.APPROVED:
                raise TransitionRefused(_("Hanya permintaan yang disetujui dapat dijalankan."))
            # Access and portability: the mode is the right (RequestExecution.Mode.ACCESS and
            # PORTABILITY); withdrawal, restriction and objection are consent ledger entries; a
            # deletion is an erasure or, for an active merchant's owner, a closure.
            owned = [] if request.right != Right.DELETION else owned_active_merchants(request.email, request.phone)
            if request.right in PACKAGE_RIGHTS:
                mode = request.right
            elif request.right in CONSENT_RIGHTS:
                mode = RequestExecution.Mode.CONSENT
            else:
                mode = RequestExecution.Mode.CLOSURE if owned else RequestExecution.Mode.ERASURE
            execution = RequestExecution.objects.create(
                request=request, requested_by=actor,
                mode=mode,
                steps={"closure": {"merchants": owned}} if owned else {},
            )
            request_start(request_id=request_id, actor=actor)
        elif request.state != State.PROCESSING:
            raise TransitionRefused(_("Permintaan %(ref)s tidak sedang diproses.") % {"ref": request.reference})
    return execution


def _error_text(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return f"{type(exc).__name__}: {message}"[:500]
    return describe(exc)


class _Runner:
    def __init__(self, execution: RequestExecution, *, token: str, actor):
        self.execution, self.token, self.actor = execution, token, actor
        self.request_id = execution.request_id
        self.closure = execution.mode == RequestExecution.Mode.CLOSURE

    # -- recording --

    def _save(self, step: str, outcome: dict, **fields) -> None:
        """Inside the caller's transaction: write the step's outcome, fenced by the claim."""
        locked = RequestExecution.objects.select_for_update().filter(pk=self.execution.pk, claimed_by=self.token).first()
        if locked is None:
            raise StepFailed(_("Pelaksanaan ini diambil alih oleh proses lain."))
        steps = dict(locked.steps)
        steps[step] = {**steps.get(step, {}), **outcome, "at": timezone.now().isoformat()}
        RequestExecution.objects.filter(pk=locked.pk).update(steps=steps, step=step, **fields)
        self.execution.steps = steps

    def _event(self, step: str, note: str, *, verb: str | None = None) -> None:
        transition(
            self.request_id, verb=verb or f"execution_{step}"[:32], what=_("mencatat langkah pelaksanaan"),
            actor=self.actor, actor_kind=SYSTEM, permission=EXECUTE, allowed_from=[State.PROCESSING], note=note,
        )

    def done(self, step: str, note: str, **outcome) -> None:
        with transaction.atomic():
            self._save(step, {"state": DONE, "error": "", **outcome})
            self._event(step, note)

    def skipped(self, step: str, note: str) -> None:
        with transaction.atomic():
            self._save(step, {"state": SKIPPED, "error": ""})
            self._event(step, note, verb="execution_skipped")

    def wait(self) -> None:
        """Give the execution back, still running, for the sweep to take up after WAIT."""
        if not connection.in_atomic_block:  # after a passing database error: a new connection
            connection.close_if_unusable_or_obsolete()
        RequestExecution.objects.filter(pk=self.execution.pk, claimed_by=self.token).update(
            claimed_by="", lease_until=timezone.now() + WAIT,
        )

    def failed(self, step: str, error: str) -> None:
        try:
            with transaction.atomic():
                self._save(step, {"state": FAILED, "error": error}, state=RequestExecution.State.FAILED, error=error,
                           claimed_by="", lease_until=None)
                self._event(step, f"{step_label(step)}: {error}", verb="execution_failed")
        except StepFailed:
            pass  # another worker holds it now: its outcome is its own to record

    # -- the steps --

    def run(self, step: str) -> None:
        getattr(self, f"step_{step}")(DataSubjectRequest.objects.get(pk=self.request_id))

    def step_dry_run(self, request) -> None:
        if self.closure:
            self.skipped("dry_run", _("Akun merchant ditutup: tidak ada penghapusan data subjek."))
            return
        run = subject_erase(email=request.email or None, phone=request.phone or None, actor=self.actor, dry_run=True)
        self.done("dry_run", counts_note(run.counts, run.stop_reason), run=run.pk, counts=run.counts, kept=run.stop_reason)

    def step_closure(self, request) -> None:
        if not self.closure:
            self.skipped("closure", _("Pemohon bukan pemilik merchant aktif."))
            return
        closed = []
        for merchant_id in self.execution.steps.get("closure", {}).get("merchants", []):
            try:
                schedule = merchant_churn(merchant_id=merchant_id, source=ChurnEvent.Source.ADMIN)
            except RetentionError as exc:
                raise StepFailed(exc.message) from None
            closed.append({"merchant": merchant_id, "purge_due": schedule.due_at.isoformat()})
        note = "; ".join(_("merchant %(id)s: dihapus setelah %(due)s") % {
            "id": c["merchant"], "due": c["purge_due"]} for c in closed)
        self.done("closure", note, closed=closed)

    def step_notices(self, request) -> None:
        if self.closure:
            self.skipped("notices", _("Akun merchant ditutup: pemberitahuan menyertai penghapusan merchant."))
            return
        try:
            notices = erasure_notices_plan(
                email=request.email or None, phone=request.phone or None, reference=request.reference, actor=self.actor,
            )
        except ConsentError as exc:
            raise StepFailed(exc.message) from None
        self.done("notices", _("%(n)s pemberitahuan penghapusan direncanakan.") % {"n": len(notices)},
                  notices=[n.pk for n in notices])

    def step_summary(self, request) -> None:
        message_id = self.execution.steps.get("summary", {}).get("message")
        if message_id is None:
            with transaction.atomic():
                transition(
                    self.request_id, verb="execution_summary", what=_("mengirim ringkasan pelaksanaan"),
                    actor=self.actor, actor_kind=SYSTEM, permission=EXECUTE, allowed_from=[State.PROCESSING],
                    told=lambda r: summary_text(r, self.execution),
                )
                link = RequestMessage.objects.filter(request_id=self.request_id).order_by("-pk").first()
                if link is None:
                    raise StepFailed(_("Pemohon tidak memiliki alamat untuk menerima ringkasan."))
                message_id = link.message_id
                self._save("summary", {"message": message_id, "state": "queued"})
        # After the commit: send now, before anything erases her address.
        message_send(message_id=message_id)
        state = OutboundMessage.objects.filter(pk=message_id).values_list("state", flat=True).first()
        if state not in SETTLED:
            raise StepFailed(_("Ringkasan untuk pemohon belum terkirim; penghapusan menunggu sampai terkirim."))
        note = _("Ringkasan dikirim kepada pemohon.") if state == OutboundMessage.State.SENT else _(
            "Ringkasan tidak dapat dikirim ke alamat pemohon; penghapusan tetap dilaksanakan."
        )
        self.done("summary", note, message=message_id, delivered=state == OutboundMessage.State.SENT)

    def step_erasure(self, request) -> None:
        if self.closure:
            self.skipped("erasure", _("Akun merchant ditutup: data dihapus setelah masa tenggang."))
            return
        run_id = self.execution.steps.get("erasure", {}).get("run")
        try:
            if run_id is None:
                if any(is_pseudonym(v) for v in (request.email, request.phone) if v):
                    raise StepFailed(_(
                        "Alamat pemohon sudah berupa hash dan tidak ada catatan penghapusan untuk langkah ini: "
                        "penghapusan subjeknya dijalankan oleh petugas dengan alamat aslinya."))
                # The run and its id here in one transaction: a resume always knows her run.
                with transaction.atomic():
                    run = subject_erasure_start(email=request.email or None, phone=request.phone or None,
                                                actor=self.actor)
                    self._save("erasure", {"run": run.pk})
            else:
                # Retried meanwhile (the DPO, from the runs admin)? Then the newest run is hers.
                run = latest_retry(ErasureRun.objects.get(pk=run_id))
                if run.state in (ErasureRun.State.FAILED, ErasureRun.State.STOPPED):
                    if self.actor is None:  # the sweep: a real error waits for a person's resume
                        raise StepFailed(run.stop_reason or run.error or run.get_state_display())
                    with transaction.atomic():  # the officer resuming her execution decides it
                        run = subject_erasure_restart(run_id=run.pk, actor=self.actor)
                        self._save("erasure", {"run": run.pk})
                elif run.pk != run_id:
                    self._save("erasure", {"run": run.pk})
        except RetentionError as exc:
            raise StepFailed(exc.message) from None
        if run.state != ErasureRun.State.COMPLETED:
            try:
                subject_erasure_continue(run_id=run.pk)  # None: another worker holds it
            except TRANSIENT_DB_ERRORS:
                raise StepWaiting from None  # the claim was given back: the next turn goes on
            run.refresh_from_db()
        if run.state in (ErasureRun.State.PENDING, ErasureRun.State.RUNNING):
            raise StepWaiting
        if run.state != ErasureRun.State.COMPLETED:
            raise StepFailed(run.stop_reason or run.error or run.get_state_display())
        self.done("erasure", counts_note(run.counts, run.stop_reason), run=run.pk, counts=run.counts, kept=run.stop_reason)

    # -- withdrawal, restriction, objection --

    def step_ledger(self, request) -> None:
        purposes = list(request.purposes.order_by("number").values_list("key", flat=True))
        with transaction.atomic():
            self._save("ledger", {"state": DONE, "error": "", "purposes": purposes},
                       state=RequestExecution.State.COMPLETED, finished_at=timezone.now(), claimed_by="",
                       lease_until=None)
            try:
                request_complete(request_id=self.request_id, actor=self.actor, result=ledger_result)
            except RequestError as exc:
                raise StepFailed(exc.message) from None

    # -- access and portability --

    def step_package(self, request) -> None:
        package = (
            AccessPackage.objects.filter(request_id=self.request_id, deleted_at__isnull=True).order_by("-pk").first()
        )
        if package is None:
            try:
                package = access_package_build(request_id=self.request_id)
            except RequestError as exc:
                raise StepFailed(exc.message) from None
        self.done("package", _("Paket data %(id)s dibuat (%(size)s bita).") % {"id": package.pk, "size": package.size},
                  package=package.pk)

    def step_link(self, request) -> None:
        package = AccessPackage.objects.get(pk=self.execution.steps["package"]["package"])
        if package.deleted_at is not None:
            raise StepFailed(_("Paket data %(id)s sudah dihapus; jalankan ulang setelah paket baru dibuat.") % {
                "id": package.pk})
        with transaction.atomic():
            self._save("link", {"state": DONE, "error": "", "package": package.pk})
            transition(
                self.request_id, verb="execution_link", what=_("mengirim tautan paket data"),
                actor=self.actor, actor_kind=SYSTEM, permission=EXECUTE, allowed_from=[State.PROCESSING],
                note=_("Tautan unduhan paket data %(id)s dikirim kepada pemohon.") % {"id": package.pk},
                told=lambda r: link_text(r, package),
            )
            link = RequestMessage.objects.filter(request_id=self.request_id).order_by("-pk").first()
            if link is not None:
                self._save("link", {"message": link.message_id})

    def step_complete(self, request) -> None:
        if self.execution.request.right in PACKAGE_RIGHTS:
            package_id = self.execution.steps.get("package", {}).get("package")
            with transaction.atomic():
                self._save("complete", {"state": DONE, "error": ""}, state=RequestExecution.State.COMPLETED,
                           finished_at=timezone.now(), claimed_by="", lease_until=None)
                # The link's message told her; completion is the transition alone.
                transition(
                    self.request_id, verb="completed", what=_("menyelesaikan"), actor=self.actor, actor_kind=SYSTEM,
                    permission=EXECUTE, allowed_from=[State.PROCESSING], to_state=State.COMPLETED,
                    note=_("Paket data %(id)s dikirim.") % {"id": package_id},
                )
            return
        if self.closure:
            closed = self.execution.steps.get("closure", {}).get("closed", [])
            result = _("Akun usaha Anda ditutup; datanya dihapus setelah masa tenggang (%(dates)s).") % {
                "dates": ", ".join(c["purge_due"][:10] for c in closed)}
            with transaction.atomic():
                self._save("complete", {"state": DONE, "error": ""}, state=RequestExecution.State.COMPLETED,
                           finished_at=timezone.now(), claimed_by="", lease_until=None)
                request_complete(request_id=self.request_id, actor=self.actor, result=result)
            return
        counts = self.execution.steps.get("erasure", {}).get("counts", {})
        with transaction.atomic():
            self._save("complete", {"state": DONE, "error": ""}, state=RequestExecution.State.COMPLETED,
                       finished_at=timezone.now(), claimed_by="", lease_until=None)
            # Her address is a keyed hash now: the summary told her; the event holds the counts.
            transition(
                self.request_id, verb="completed", what=_("menyelesaikan"), actor=self.actor, actor_kind=SYSTEM,
                permission=EXECUTE, allowed_from=[State.PROCESSING], to_state=State.COMPLETED,
                note=counts_note(counts, self.execution.steps.get("erasure", {}).get("kept", "")),
            )
