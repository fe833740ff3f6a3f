"""The tamper-evident audit trail of requests: its shape, and the walk that checks it.

Shape: a chain per request, anchored in one global chain.
- Each event's hash covers its request, number, verb, actor, states, time, the keyed hashes of
  its note and of what the requester was told, and the previous event's hash. The event is
  written under the request's row lock (every transition takes it anyway), and the request row
  keeps the chain's head (`event_count`, `head_hash`). Submissions never wait for each other:
  there is no global lock on the write path.
- Every minute (beat), `audit_anchor` takes the events not yet anchored, and appends one link
  to the global chain (`AuditAnchor`) whose digest covers each of those events' (request,
  number, hash). Removing a request's events, all of them or its last ones, or the request
  itself, then changes what an anchor covers: the walk names the anchor. Between two anchors a
  removal is caught by the request row's head; the window where both a request's head and its
  last events could be removed unseen is the minute before the next anchor.
- Erasure keeps the chain whole: notes and messages are personal and erased, but the chain
  covers their keyed hashes (HMAC under PSEUDONYM_KEY, so a short erased note cannot be guessed
  back from its hash), which stay. The walk checks a note against its hash while it exists.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import pagecache
from .models import AuditAnchor, DataSubjectRequest, RequestEvent

# Events anchored per link of the global chain (the rest wait for the next minute).
ANCHOR_BATCH = 20000
ANCHOR_LOCK = 7_042_001  # pg advisory lock key: one anchoring at a time


def text_digest(text: str) -> str:
    """The keyed hash of a note (empty for no note), what the chain covers of personal text."""
    if not text:
        return ""
    return hmac.new(settings.PSEUDONYM_KEY.encode(), f"note:{text}".encode(), hashlib.sha256).hexdigest()


def event_hash(*, request_id: int, seq: int, verb: str, actor_id: int | None, actor_kind: str, from_state: str,
               to_state: str, created_at, note_digest: str, told_digest: str, prev_hash: str) -> str:
    fields = [
        str(request_id), str(seq), verb, str(actor_id or ""), actor_kind, from_state, to_state,
        created_at.isoformat(timespec="microseconds"), note_digest, told_digest, prev_hash,
    ]
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def hash_of(event: RequestEvent) -> str:
    return event_hash(
        request_id=event.request_id, seq=event.seq, verb=event.verb, actor_id=event.actor_id,
        actor_kind=event.actor_kind, from_state=event.from_state, to_state=event.to_state,
        created_at=event.created_at, note_digest=event.note_digest, told_digest=event.told_digest,
        prev_hash=event.prev_hash,
    )


def chain_event(
    request: DataSubjectRequest, *, verb: str, actor=None, actor_kind: str = "user", from_state: str = "",
    to_state: str = "", note: str = "", told: str = "",
) -> RequestEvent:
    """Append an event to `request`'s chain. The caller holds the request's row lock and saves the row."""
    seq = request.event_count + 1
    event = RequestEvent(
        request=request, seq=seq, verb=verb, actor=actor, actor_kind=actor_kind if actor is None else "user",
        from_state=from_state, to_state=to_state, note=note, told=told, created_at=timezone.now(),
        note_digest=text_digest(note), told_digest=text_digest(told), prev_hash=request.head_hash,
    )
    event.hash = hash_of(event)
    event.save(force_insert=True)
    # Every change a requester can see writes an event: the status page kept rendered goes with it.
    pagecache.forget_status(request.public_id)
    request.event_count = seq
    request.head_hash = event.hash
    return event


def anchor_digest(rows) -> str:
    """Digest of (request, number, hash) rows, in (request, number) order."""
    digest = hashlib.sha256()
    for request_id, seq, event_hash_ in rows:
        digest.update(f"{request_id}:{seq}:{event_hash_}\n".encode())
    return digest.hexdigest()


def anchor_hash(*, seq: int, created_at, event_count: int, digest: str, prev_hash: str) -> str:
    fields = [str(seq), created_at.isoformat(timespec="microseconds"), str(event_count), digest, prev_hash]
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def audit_anchor() -> AuditAnchor | None:
    """Append one link to the global chain covering the events not yet anchored (None if there are none)."""
    with transaction.atomic():
        _lock_anchoring()
        pending = list(
            RequestEvent.objects.filter(anchor__isnull=True).order_by("request_id", "seq")
            .values_list("pk", "request_id", "seq", "hash")[:ANCHOR_BATCH]
        )
        if not pending:
            return None
        last = AuditAnchor.objects.order_by("-seq").first()
        anchor = AuditAnchor(
            seq=(last.seq + 1) if last else 1, created_at=timezone.now(), event_count=len(pending),
            digest=anchor_digest(row[1:] for row in pending), prev_hash=last.hash if last else "",
        )
        anchor.hash = anchor_hash(
            seq=anchor.seq, created_at=anchor.created_at, event_count=anchor.event_count, digest=anchor.digest,
            prev_hash=anchor.prev_hash,
        )
        anchor.save()
        RequestEvent.objects.filter(pk__in=[row[0] for row in pending]).update(anchor=anchor)
        return anchor


def _lock_anchoring() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ANCHOR_LOCK])


# -- the walk -----------------------------------------------------------------------------------


@dataclass
class ChainBreak:
    where: str
    problem: str

    def __str__(self):
        return f"{self.where}: {self.problem}"


@dataclass
class ChainReport:
    requests: int
    events: int
    anchors: int
    unanchored: int
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


# Events read per query of the walk: memory stays flat whatever the number of events.
WALK_BATCH = 5000


def audit_verify(*, request_id: int | None = None) -> ChainReport:
    """Walk every request chain and the global chain; name the first break found.

    Reads the events in (request, number) order in batches, checks each hash, each link to the
    previous event, each note against its keyed hash, and each request's head; then recomputes
    every anchor from the events that point to it.
    """
    requests_seen = events_seen = 0
    requests = DataSubjectRequest.objects.filter(pk=request_id) if request_id else DataSubjectRequest.objects.all()
    heads, head_hashes = {}, {}
    for pk, count, head in requests.values_list("pk", "event_count", "head_hash").iterator(chunk_size=WALK_BATCH):
        heads[pk], head_hashes[pk] = count, head
    events = RequestEvent.objects.order_by("request_id", "seq")
    if request_id:
        events = events.filter(request_id=request_id)
    current, expected_seq, prev_hash = None, 1, ""

    def close(req_id) -> ChainBreak | None:
        if req_id is None:
            return None
        if req_id not in heads:
            return ChainBreak(_where(req_id, None), "events of a request that no longer exists")
        if heads[req_id] != expected_seq - 1 or head_hashes[req_id] != prev_hash:
            return ChainBreak(
                _where(req_id, None),
                f"the request's head says {heads[req_id]} event(s) but the chain has {expected_seq - 1}, "
                "or its last hash differs: events were removed or added",
            )
        return None

    after = (0, 0)
    while True:
        batch = list(
            events.filter(request_id__gte=after[0]).exclude(request_id=after[0], seq__lte=after[1])
            .values("pk", "request_id", "seq", "verb", "actor_id", "actor_kind", "from_state", "to_state",
                    "created_at", "note", "told", "note_digest", "told_digest", "prev_hash", "hash")[:WALK_BATCH]
        )
        if not batch:
            break
        for row in batch:
            if row["request_id"] != current:
                problem = close(current)
                if problem:
                    return _report(heads, events_seen, problem)
                heads.pop(current, None)
                current, expected_seq, prev_hash = row["request_id"], 1, ""
                requests_seen += 1
            where = _where(row["request_id"], row["seq"])
            if row["seq"] != expected_seq:
                return _report(heads, events_seen, ChainBreak(where, f"event #{expected_seq} is missing"))
            if row["prev_hash"] != prev_hash:
                return _report(heads, events_seen, ChainBreak(where, "does not follow the event before it"))
            if row["note"] and text_digest(row["note"]) != row["note_digest"]:
                return _report(heads, events_seen, ChainBreak(where, "its note was changed"))
            if row["told"] and text_digest(row["told"]) != row["told_digest"]:
                return _report(heads, events_seen, ChainBreak(where, "what the requester was told was changed"))
            recomputed = event_hash(
                request_id=row["request_id"], seq=row["seq"], verb=row["verb"], actor_id=row["actor_id"],
                actor_kind=row["actor_kind"], from_state=row["from_state"], to_state=row["to_state"],
                created_at=row["created_at"], note_digest=row["note_digest"], told_digest=row["told_digest"],
                prev_hash=row["prev_hash"],
            )
            if recomputed != row["hash"]:
                return _report(heads, events_seen, ChainBreak(where, "its content does not match its hash (edited)"))
            prev_hash, expected_seq = row["hash"], expected_seq + 1
            events_seen += 1
        after = (batch[-1]["request_id"], batch[-1]["seq"])
    problem = close(current)
    if problem:
        return _report(heads, events_seen, problem)
    heads.pop(current, None)
    # Requests whose head names events that are all gone.
    for req_id, count in heads.items():
        if count:
            return _report(heads, events_seen, ChainBreak(_where(req_id, None), f"its {count} event(s) are missing"))
    if request_id is None:
        problem = _verify_anchors()
        if problem:
            return _report(heads, events_seen, problem)
    unanchored = RequestEvent.objects.filter(anchor__isnull=True).count()
    return ChainReport(
        requests=requests_seen, events=events_seen, anchors=AuditAnchor.objects.count(), unanchored=unanchored,
        first_break=None,
    )


def _verify_anchors() -> ChainBreak | None:
    prev_hash, expected = "", 1
    for anchor in AuditAnchor.objects.order_by("seq").iterator(chunk_size=500):
        where = f"anchor #{anchor.seq}"
        if anchor.seq != expected:
            return ChainBreak(where, f"anchor #{expected} is missing")
        if anchor.prev_hash != prev_hash:
            return ChainBreak(where, "does not follow the anchor before it")
        recomputed = anchor_hash(
            seq=anchor.seq, created_at=anchor.created_at, event_count=anchor.event_count, digest=anchor.digest,
            prev_hash=anchor.prev_hash,
        )
        if recomputed != anchor.hash:
            return ChainBreak(where, "its content does not match its hash (edited)")
        rows = list(
            RequestEvent.objects.filter(anchor=anchor).order_by("request_id", "seq").values_list("request_id", "seq", "hash")
        )
        if len(rows) != anchor.event_count or anchor_digest(rows) != anchor.digest:
            missing = _missing_requests(anchor, rows)
            detail = f" (request {missing})" if missing else ""
            return ChainBreak(
                where, f"covers {anchor.event_count} event(s), {len(rows)} remain or differ: events were removed{detail}"
            )
        prev_hash, expected = anchor.hash, expected + 1
    return None


def _missing_requests(anchor: AuditAnchor, rows) -> str:
    """Best effort: name a request the anchor's events belonged to that has fewer events now."""
    present = {row[0] for row in rows}
    gone = (
        DataSubjectRequest.objects.exclude(pk__in=present)
        .filter(events__isnull=True, event_count__gt=0).values_list("pk", flat=True)[:1]
    )
    for pk in gone:
        return _where(pk, None)
    return ""


def _where(request_id: int, seq: int | None) -> str:
    request = DataSubjectRequest.objects.filter(pk=request_id).only("pk", "created_at").first()
    name = request.reference if request else f"request id {request_id}"
    return f"{name} event #{seq}" if seq else name


def _report(heads, events_seen, problem: ChainBreak) -> ChainReport:
    return ChainReport(
        requests=0, events=events_seen, anchors=AuditAnchor.objects.count(),
        unanchored=RequestEvent.objects.filter(anchor__isnull=True).count(), first_break=problem,
    )
