#!/usr/bin/env python3
"""Benchmark of request intake under gunicorn, against a minimal Django page in the same server.

    python3 bench/requests.py                          # the whole run, one command (about 3 minutes)
    python3 bench/requests.py --rate 60                # an offered rate this machine can take
    python3 bench/requests.py --requests 10000 --seconds 10     # a quick look
    python3 bench/requests.py --workers 3 --threads 8           # another server shape
    python3 bench/requests.py --strict                 # exit 1 when a target is missed

Run from anywhere, it sets up .venv as scripts/test does, starts the throwaway PostgreSQL and
Redis of scripts/services.sh, migrates, runs the benchmark in the venv and stops the servers.
Nothing here is part of the test suite.

What it does, on that PostgreSQL and Redis:
1. Seeds `--requests` data-subject requests (default 100,000) with COPY: every right, state,
   channel and jurisdiction in the proportions of a portal that has run for two years (most
   closed, some open, a tenth of the open ones late), names, e-mails and E.164 phones (expired
   requests' contact data erased as the expiry sweep does), due times from the deadline table,
   officers assigned, and each request's whole timeline as real hash-chained events (about six
   a request) already anchored in the global chain, as beat would have left them.
2. Starts gunicorn (`--workers`, `--worker-class`, `--threads`; the same server for every
   page) with the project's settings and one addition, bench/bench_settings.py, whose URLconf
   (bench/bench_urls.py) is the portal's plus `/bench/minimal/`: the baseline, a bare view
   returning a small HTML page through the same middleware. DEBUG off, plain HTTP (no TLS
   redirect, cookies not Secure), no access log, the admin without its second factor
   (ADMIN_REQUIRE_OTP=false); the rate limits keep their settings and their Redis counters:
   each simulated person comes from an address of their own (X-Forwarded-For behind one
   trusted proxy, RATELIMIT_PROXY_COUNT=1), as they do behind the TLS proxy in production.
3. Intake, open loop: people arrive at `--rate` a second (Poisson arrivals, default 200) for
   `--seconds` (default 30), each as a browser does it: GET the form of a right
   (/permintaan/<right>/, a fifth in English under /en/), fill it in (a customer of a shop, an
   owner or staff; an e-mail, a phone or both, each new; a correction's data, a deletion's
   reason; 2% as a representative with a signed letter as PDF) and POST it as multipart with
   its CSRF token and signed submission key, expect 303 to /permintaan/terkirim/ and follow
   it; 5% of them post twice (a double click). Latency of each step from the moment it is sent;
   whoever has no answer `--grace` seconds after the last arrival gives up (counted, not accepted).
4. Counts: every accepted POST carried a distinct submission key; each must be the key of
   exactly one DataSubjectRequest row (the double posts too), with one `submitted` event.
5. Intake, closed loop: `--users` people submitting one after another as fast as the server
   answers, for `--burst-seconds`: the most submissions a second this server takes, with the
   per-request audit chain as it is (an event hashed and a head written per submission).
6. The status page (/permintaan/status/<token>/, tokens signed by
   notifications.status_token, over seeded and new requests) against /bench/minimal/: closed
   loop, `--connections` keep-alive connections, `--throughput-seconds` each, alternated
   twice; requests a second and the ratio.
7. The admin queue (/admin/requests_portal/datasubjectrequest/) over the seeded requests and
   the new ones: a superuser logs in through the real login page (GET, POST with its CSRF
   token; django-axes' attempts reset first), then each of six pages (first page, page 20, open
   and late, one state and right, search by e-mail, by phone) is loaded `--admin-loads` times,
   one after another: median and p95.
8. The audit chain's cost: `requests_portal.tasks.audit_anchor` timed over the events the run
   created (events a second; beat runs it every minute, off the write path), and in process,
   `services.request_submit` timed `--inproc` times with its share spent in the chain
   (chain_event and the head's UPDATE).
9. Prints every figure, the targets and MET or MISSED: 200 submissions a second sustained with
   a POST p99 under 250 ms and every accepted submission in the database exactly once; the
   status page at least 0.7 x the minimal page's requests a second; every admin page under
   150 ms (p95). And for each phase the cores used by the server (gunicorn, PostgreSQL, Redis),
   by the client (this process) and by everything else, with the server's CPU per request: on a
   shared machine it warns when other work took cores (`--wait-quiet` waits for it to stop).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import html
import os
import queue
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from bootstrap import ROOT, inside_services, reexec_inside_services  # noqa: E402

# This file is bench/requests.py: with bench/ first on the path, `import requests` anywhere in
# this process would import it instead of the library.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]

RATE_TARGET = 200  # submissions a second, sustained
P99_TARGET_MS = 250  # of the submission's POST
STATUS_RATIO_TARGET = 0.7  # status page req/s at least 0.7 x the minimal page's
ADMIN_TARGET_MS = 150  # each admin page (p95)

HOST = "127.0.0.1"
SENT_PATH_END = "/permintaan/terkirim/"
MINIMAL_PATH = "/bench/minimal/"
QUEUE_PATH = "/admin/requests_portal/datasubjectrequest/"
ADMIN_USER, ADMIN_PASSWORD = "bench-admin", "bench-" + secrets.token_urlsafe(12)
SECRET_KEY = "bench-requests-" + secrets.token_urlsafe(32)  # the server and this process sign alike

RIGHT_SHARES = {
    "access": 32, "deletion": 24, "correction": 12, "withdrawal": 10, "portability": 7, "restriction": 6,
    "objection": 5, "appeal": 4,
}
FIRST = ["Siti", "Budi", "Dewi", "Agus", "Rina", "Andi", "Putri", "Joko", "Sri", "Eko", "Ayu", "Rudi", "Wati",
         "Hendra", "Lestari", "Bambang", "Indah", "Yusuf", "Nur", "Fajar", "Maya", "Dimas", "Ratna", "Teguh",
         "Fitri", "Arief", "Novi", "Gilang", "Kartika", "Rizky", "Intan", "Hadi", "Mega", "Bayu", "Citra", "Wahyu"]
LAST = ["Rahayu", "Santoso", "Lestari", "Wijaya", "Saputra", "Hidayat", "Kusuma", "Pratama", "Nugroho",
        "Permata", "Setiawan", "Siregar", "Nasution", "Simanjuntak", "Wibowo", "Halim", "Gunawan", "Susanto",
        "Purnomo", "Anggraini", "Maharani", "Sitompul", "Harahap", "Kurniawan", "Utami", "Fauzi", "Yulianti"]
SHOPS = ["Warung Makan Sederhana", "Toko Berkah Jaya", "Kopi Senja", "Apotek Sehat Sentosa", "Bakso Pak Kumis",
         "Toko Kelontong Makmur", "Salon Cantik Ayu", "Laundry Bersih Kilat", "Mie Ayam Barokah", "Roti Bakar 88",
         "Toko Bangunan Sinar", "Ayam Geprek Mantap", "Es Teh Nusantara", "Butik Melati", "Fotokopi Cahaya"]
DOMAINS = ["example.com", "example.net", "example.org", "example.co.id"]
# A signed letter of authority, as a representative uploads it: a small real-looking PDF.
LETTER_PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
              + b"% surat kuasa " + b"x" * 24_000 + b"\n%%EOF\n")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-p * len(ordered) // 100))))
    return ordered[rank - 1]


def ms(seconds: float) -> float:
    return seconds * 1000


# -- a bare HTTP/1.1 client on asyncio streams ----------------------------------------------


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Connection:
    """One keep-alive connection with a cookie jar, as one browser tab has: bodies by length or
    chunked, cookies by hand, reconnects when the server closed it (a GET is sent again once)."""

    def __init__(self, port: int, *, headers: list[tuple[str, str]] | None = None):
        self.port = port
        self.base = f"http://{HOST}:{port}"
        self.headers = headers or []
        self.cookies: dict[str, str] = {}
        self.reader = self.writer = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        self.reader = self.writer = None

    async def request(self, method: str, path: str, *, body: bytes = b"", content_type: str | None = None,
                      headers: list[tuple[str, str]] | None = None) -> Response:
        for attempt in (0, 1):
            reused = self.writer is not None
            if not reused:
                self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
            try:
                return await self._exchange(method, path, body, content_type, headers or [])
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if not reused or method != "GET" or attempt:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, method, path, body, content_type, headers) -> Response:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}",
                 "User-Agent: Mozilla/5.0 (Linux; Android 14) bench/requests.py", "Accept: text/html,*/*"]
        lines += [f"{k}: {v}" for k, v in self.headers + headers]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if method != "GET":
            lines.append(f"Content-Length: {len(body)}")
            if content_type:
                lines.append(f"Content-Type: {content_type}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        parsed = []
        for line in header_lines:
            if line:
                key, _, value = line.partition(":")
                parsed.append((key.strip().lower(), value.strip()))
        response = Response(status, parsed, b"")
        length = response.header("content-length")
        if response.header("transfer-encoding") == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if not size:
                    break
                chunks.append(chunk[:-2])
            response.body = b"".join(chunks)
        elif length is not None:
            response.body = await self.reader.readexactly(int(length))
        elif status not in (204, 304) and status >= 200:
            response.body = await self.reader.read()
            await self.close()
        for key, value in parsed:
            if key == "set-cookie":
                name, _, rest = value.partition("=")
                cookie_value = rest.split(";", 1)[0]
                if 'expires=thu, 01 jan 1970' in value.lower() or "max-age=0" in value.lower():
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = cookie_value
        if (response.header("connection") or "").lower() == "close":
            await self.close()
        return response


FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
INPUT_RE = re.compile(r"<input\b([^>]*)>", re.I)
ATTR_RE = re.compile(r"""([\w:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")


def attrs(text: str) -> dict[str, str]:
    return {m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
            for m in ATTR_RE.finditer(text)}


@dataclass
class Form:
    action: str
    enctype: str
    hidden: dict[str, str]
    names: set[str]


def find_form(page: str, *, containing: str, base_path: str) -> Form | None:
    """The first POST form whose markup names `containing` (a field), its hidden values and field names."""
    for match in FORM_RE.finditer(page):
        form_attrs, body = attrs(match.group(1)), match.group(2)
        if f'name="{containing}"' not in body:
            continue
        hidden, names = {}, set(re.findall(r'name="([^"]+)"', body))
        for tag in INPUT_RE.findall(body):
            a = attrs(tag)
            if a.get("type") == "hidden" and a.get("name"):
                hidden[a["name"]] = a.get("value", "")
        return Form(action=form_attrs.get("action") or base_path,
                    enctype=form_attrs.get("enctype", "application/x-www-form-urlencoded"), hidden=hidden, names=names)
    return None


def encode_form(fields: list[tuple[str, str]], files: list[tuple[str, str, str, bytes]], enctype: str) -> tuple[bytes, str]:
    """The body a browser sends: urlencoded, or multipart/form-data when the form says so."""
    if enctype != "multipart/form-data":
        return urlencode(fields).encode(), "application/x-www-form-urlencoded"
    boundary = "----benchBoundary" + secrets.token_hex(8)
    parts = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, content_type, content in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# -- who else uses the machine ---------------------------------------------------------------


TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, CPU ticks of the process and its reaped children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), sum(int(x) for x in fields[11:15])


class CpuWatch:
    """CPU used during a phase by the server (gunicorn's workers, PostgreSQL's and Redis's processes),
    by this process (the client) and by everything else on the machine: on a shared machine other
    work takes cores from the server, and the figures say so. The server's CPU per request does
    not depend much on that: it is the figure to compare when the machine was not quiet."""

    SERVER = ("gunicorn", "postgres", "redis")

    def __init__(self):
        self.roots: dict[str, int] = {}
        services = os.environ.get("_JUNO_SERVICES_DIR")
        for name, pid_file in (("postgres", "pg/data/postmaster.pid"), ("redis", "redis/redis.pid")):
            try:
                self.roots[name] = int(Path(services, pid_file).read_text().split()[0])
            except (TypeError, OSError, ValueError, IndexError):
                pass

    def sample(self) -> dict[str, float]:
        """Seconds since an origin, busy ticks of the machine, ticks of each server group and of this process."""
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
        stats = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and (st := _proc_stat(int(entry.name))):
                stats[int(entry.name)] = st
        found = {"time": time.monotonic(), "busy": user + nice + system + irq + softirq + steal}
        for name, root in self.roots.items():
            group, frontier = set(), {root} & stats.keys()
            while frontier:
                group |= frontier
                frontier = {pid for pid, (ppid, _) in stats.items() if ppid in frontier and pid not in group}
            found[name] = sum(stats[pid][1] for pid in group)
        me = os.times()
        found["client"] = round((me.user + me.system) * TICKS)
        return found

    @classmethod
    def usage(cls, before: dict, after: dict) -> dict[str, float]:
        """Cores used between two samples by the server, the client and everything else; and the CPU
        seconds of each part of the server."""
        seconds = max(after["time"] - before["time"], 1e-9)
        cpu = {name: (after.get(name, 0) - before.get(name, 0)) / TICKS for name in (*cls.SERVER, "client")}
        server = sum(cpu[name] for name in cls.SERVER)
        total = (after["busy"] - before["busy"]) / TICKS
        return {"server": server / seconds, "client": cpu["client"] / seconds,
                "others": max(0.0, total - server - cpu["client"]) / seconds, "server_cpu": server,
                **{f"cpu_{name}": cpu[name] for name in cls.SERVER}}


def wait_until_quiet(watch: CpuWatch, limit: float, *, window: float = 3.0, quiet: float = 0.15) -> float:
    """Wait (at most `limit` seconds) until everything else on the machine used under `quiet` cores
    for `window` seconds; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = watch.sample()
        time.sleep(window)
        if CpuWatch.usage(before, watch.sample())["others"] < quiet:
            break
    return time.monotonic() - started


# -- the server ------------------------------------------------------------------------------


def server_environment(tmp: Path, port: int) -> dict[str, str]:
    """What the gunicorn server (and this process, for signing and seeding) runs with."""
    redis_url = os.environ["REDIS_URL"]
    parts = urlsplit(redis_url)
    return {
        "DJANGO_SETTINGS_MODULE": "bench.bench_settings",
        "PYTHONPATH": str(ROOT),
        "SECRET_KEY": SECRET_KEY,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "ADMIN_REQUIRE_OTP": "false",
        # Each simulated person has an address of their own, as seen by one trusted proxy.
        "RATELIMIT_PROXY_COUNT": "1",
        "LOG_LEVEL": "WARNING",
        "VAR_DIR": str(tmp / "var"),
        "STATIC_ROOT": str(tmp / "static"),
        "PORTAL_URL": f"http://{HOST}:{port}",
        # Tasks (the outbox's sends) queue in a Redis database of their own; no worker takes them.
        "CELERY_BROKER_URL": parts._replace(path="/1").geturl(),
    }


class Server:
    def __init__(self, env: dict[str, str], port: int, args, log: Path):
        self.env, self.port, self.args, self.log = env, port, args, log
        self.process: subprocess.Popen | None = None

    @property
    def command(self) -> list[str]:
        a = self.args
        command = [str(Path(sys.executable).with_name("gunicorn")), "junoprivacy.wsgi",
                   "--bind", f"{HOST}:{self.port}", "--workers", str(a.workers), "--worker-class", a.worker_class,
                   "--no-control-socket", "--timeout", "60", "--backlog", "2048"]
        if a.worker_class == "gthread":
            command += ["--threads", str(a.threads)]
        return command

    def start(self) -> float:
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env={**os.environ, **self.env}, stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.process.returncode}):\n{self.log.read_text()[-4000:]}")
            try:
                response = asyncio.run(fetch_once(self.port, MINIMAL_PATH))
                if response.status == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer in 60 s:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def fetch_once(port: int, path: str) -> Response:
    connection = Connection(port)
    try:
        return await connection.request("GET", path)
    finally:
        await connection.close()


# -- seeding: 100,000 requests that look real, with their chained events ----------------------


@dataclass
class Seeded:
    requests: int = 0
    events: int = 0
    anchors: int = 0
    states: Counter = field(default_factory=Counter)
    open_ids: list[int] = field(default_factory=list)
    refused_refs: list[str] = field(default_factory=list)
    search_email: str = ""
    search_phone: str = ""
    seconds: float = 0.0


STATE_SHARES = [  # state, per thousand: a portal two years old
    ("completed", 620), ("refused", 60), ("withdrawn", 40), ("expired", 110), ("duplicate", 20),
    ("submitted", 30), ("verified", 20), ("in_review", 50), ("awaiting_requester", 20), ("approved", 15),
    ("processing", 15),
]
CLOCK = {"verified", "in_review", "approved", "processing"}
SEED_CHUNK = 5000  # requests made in Python while the chunk before is COPYed
REFUSALS = ["third_party", "legal_hold", "retention_rule", "unfounded", "identity", "exemption"]


def seed_people() -> tuple[list, object]:
    """Officers (six compliance officers, two data protection officers) and the bench's superuser."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    User = get_user_model()
    officers = []
    for i in range(8):
        user = User(username=f"petugas{i + 1}", email=f"petugas{i + 1}@example.com", is_staff=True,
                    first_name=FIRST[i], last_name=LAST[i])
        user.set_unusable_password()
        user.save()
        group = Group.objects.get(name="Data protection officer" if i >= 6 else "Compliance officer")
        user.groups.add(group)
        officers.append(user)
    admin = User.objects.create_superuser(ADMIN_USER, "bench-admin@example.com", ADMIN_PASSWORD)
    return officers, admin


def seed_requests(n: int, rng: random.Random, officers: list) -> Seeded:
    """n requests and their events, written with COPY; every chain real and anchored."""
    from django.db import connection
    from django.utils import timezone

    from requests_portal.audit import ANCHOR_BATCH, anchor_digest, anchor_hash, event_hash, text_digest
    from requests_portal.deadlines import add_period
    from requests_portal.models import AuditAnchor, DataSubjectRequest, RequestEvent
    from retention.pseudonyms import pseudonym

    started = time.perf_counter()
    now = timezone.now()
    seeded = Seeded(requests=n)
    request_fields = DataSubjectRequest._meta.concrete_fields
    event_fields = [f for f in RequestEvent._meta.concrete_fields]
    rights = list(RIGHT_SHARES)
    right_weights = list(RIGHT_SHARES.values())
    states = [s for s, _ in STATE_SHARES]
    state_weights = [w for _, w in STATE_SHARES]
    dpo = [o for o in officers if o.groups.filter(name="Data protection officer").exists()]
    workers = [o for o in officers if o not in dpo]

    def due(right, jurisdiction, start):
        if right == "appeal":
            return start + timedelta(days=30)
        return add_period(start, 72, "hours") if jurisdiction == "ID" else add_period(start, 1, "months")

    digest = functools.lru_cache(maxsize=None)(text_digest)  # notes and messages repeat
    columns = {
        AuditAnchor: ["id", "seq", "created_at", "event_count", "digest", "prev_hash", "hash"],
        DataSubjectRequest: [f.attname for f in request_fields],
        RequestEvent: [f.attname for f in event_fields if f.attname != "id"],
    }
    # Python makes the rows of a chunk while a second connection COPYs the chunk before it.
    work: queue.Queue = queue.Queue(maxsize=2)
    failed: list[BaseException] = []
    writer = threading.Thread(target=copy_writer, args=(work, failed), daemon=True)
    writer.start()
    anchor_prev, anchor_seq = "", 0
    for chunk in range(1, n + 1, SEED_CHUNK):
        request_rows, events = [], []
        for pk in range(chunk, min(n, chunk + SEED_CHUNK - 1) + 1):
            right = rng.choices(rights, right_weights)[0]
            state = rng.choices(states, state_weights)[0]
            jurisdiction = "EU" if rng.random() < 0.08 else "ID"
            first, last = rng.choice(FIRST), rng.choice(LAST)
            has_email, has_phone = rng.random() < 0.85, rng.random() < 0.5
            if not (has_email or has_phone):
                has_email = True
            email = f"{first}.{last}{pk}@{rng.choice(DOMAINS)}".lower() if has_email else ""
            phone = f"+62812{pk:08d}" if has_phone else ""
            role = rng.choices(["customer", "staff", "owner"], [70, 15, 15])[0]
            channel = rng.choices(["web", "email", "whatsapp", "api"], [85, 8, 5, 2])[0]
            # Age: open requests are recent (a tenth of those on the clock late), closed ones up to two years.
            if state == "submitted":
                age = timedelta(seconds=rng.uniform(60, 6.5 * 86400))
            elif state in CLOCK or state == "awaiting_requester":
                late = rng.random() < 0.1
                age = timedelta(seconds=rng.uniform(4 * 86400, 20 * 86400) if late else rng.uniform(600, 2.8 * 86400))
            else:
                age = timedelta(seconds=rng.uniform(8 * 86400, 730 * 86400))
            created = now - age
            row = {
                "id": pk, "public_id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "submission_key": secrets.token_urlsafe(24) if channel == "web" else None,
                "right": right, "state": state, "channel": channel, "jurisdiction": jurisdiction,
                "language": "en" if rng.random() < 0.2 else "id", "subject_role": role,
                "shop_name": rng.choice(SHOPS) if role == "customer" or rng.random() < 0.5 else "",
                "merchant_id": None, "requester_name": f"{first} {last}", "is_representative": False,
                "subject_name": "", "email": email, "phone": phone,
                "details": rng.choice(["", "Semua data saya di toko ini.", "Riwayat belanja dan poin loyalitas.",
                                       "Nomor ponsel saya di struk digital."]),
                "wrong_data": "Nama di struk digital" if right == "correction" else "",
                "correct_data": f"{first} {last}" if right == "correction" else "",
                "reason": "Saya tidak lagi berbelanja di sana." if right in ("deletion", "restriction") and rng.random() < 0.5 else "",
                "appeal_of_id": None, "original_message": "", "identity_method": "",
                "assignee_id": None, "prepared_by_id": None, "refusal_reason": "", "refusal_text": "",
                "duplicate_of_id": None, "created_at": created, "verified_at": None, "due_at": None,
                "paused_at": None, "extended_at": None, "extension_reason": "", "closed_at": None,
                "reminded_24h_for": None, "reminded_6h_for": None, "event_count": 0, "head_hash": "",
            }
            if channel in ("email", "whatsapp"):
                row["original_message"] = f"Halo JUNOPOS, saya {first} {last}, mohon {right} data saya."
                row["identity_method"] = "Kode dikirim ke alamat pengirim dan dijawab."
            chain: list[dict] = []

            def event(verb, at, *, actor=None, kind="requester", frm="", to="", note="", told=""):
                chain.append({"verb": verb, "at": at, "actor": actor, "kind": "user" if actor else kind,
                              "from": frm, "to": to, "note": note, "told": told})

            addresses = (["email"] if email else []) + (["whatsapp"] if phone else [])
            t = created
            if channel in ("email", "whatsapp"):
                officer = rng.choice(workers)
                row["verified_at"] = t
                event("entered", t, actor=officer.pk, to="verified", told="Identitas Anda terverifikasi.")
                cur = "verified"
            else:
                event("submitted", t, to="submitted")
                cur = "submitted"
            if state in ("submitted", "expired") or (state == "withdrawn" and rng.random() < 0.3):
                if state == "expired":
                    t = created + timedelta(days=7, seconds=rng.uniform(60, 3600))
                    event("expired", t, kind="system", frm=cur, to="expired")
                    for key in ("requester_name", "subject_name", "shop_name", "details", "wrong_data", "correct_data",
                                "reason", "original_message"):
                        row[key] = ""
                    row["email"] = pseudonym(email, kind="email") if email else ""
                    row["phone"] = pseudonym(phone, kind="phone") if phone else ""
                    row["closed_at"] = t
                elif state == "withdrawn":
                    t += timedelta(seconds=rng.uniform(300, 86400))
                    event("withdrawn", t, frm=cur, to="withdrawn")
                    row["closed_at"] = t
                elif addresses[1:] and rng.random() < 0.3:
                    event("address_verified", t + timedelta(seconds=rng.uniform(30, 600)), note=addresses[0])
            else:
                if cur == "submitted":
                    t += timedelta(seconds=rng.uniform(120, 6 * 3600))
                    for via in addresses:
                        event("address_verified", t, note=via)
                    row["verified_at"] = t
                    if state == "duplicate":
                        original = rng.randrange(1, pk) if pk > 1 else None
                        row["duplicate_of_id"], row["closed_at"] = original, t
                        event("duplicate", t, kind="system", frm="submitted", to="duplicate",
                              note=f"DSR-{created.year}-{original or 0:06d}", told="Permintaan digabungkan.")
                        cur = "duplicate"
                    else:
                        event("verified", t, frm="submitted", to="verified", told="Identitas Anda terverifikasi.")
                        cur = "verified"
                if cur == "verified":
                    row["due_at"] = due(right, jurisdiction, row["verified_at"])
                if state not in ("verified", "duplicate"):
                    officer = rng.choice(workers)
                    t += timedelta(seconds=rng.uniform(600, 20 * 3600))
                    row["assignee_id"] = officer.pk
                    event("assigned", t, actor=officer.pk, frm=cur, to="in_review", note=officer.username)
                    cur = "in_review"
                    asks = state == "awaiting_requester" or (state in ("completed", "refused") and rng.random() < 0.15)
                    if asks:
                        t += timedelta(seconds=rng.uniform(600, 8 * 3600))
                        event("asked_information", t, actor=officer.pk, frm=cur, to="awaiting_requester",
                              note="Di toko mana Anda berbelanja?", told="Kami memerlukan informasi tambahan.")
                        cur = "awaiting_requester"
                        if state == "awaiting_requester":
                            row["paused_at"] = t
                        else:
                            pause = timedelta(seconds=rng.uniform(3600, 3 * 86400))
                            t += pause
                            row["due_at"] += pause
                            event("answered", t, frm=cur, to="in_review", note="Toko Berkah Jaya, Bekasi.")
                            cur = "in_review"
                    if state == "refused":
                        t += timedelta(seconds=rng.uniform(600, 30 * 3600))
                        reason = rng.choice(REFUSALS)
                        row.update(refusal_reason=reason, refusal_text="Permintaan tidak dapat dipenuhi.", closed_at=t)
                        event("refused", t, actor=officer.pk, frm=cur, to="refused", note=reason,
                              told="Permintaan Anda ditolak.")
                        seeded.refused_refs.append(f"DSR-{created.year}-{pk:06d}")
                    elif state == "withdrawn":
                        t += timedelta(seconds=rng.uniform(600, 30 * 3600))
                        event("withdrawn", t, frm=cur, to="withdrawn")
                        row["closed_at"] = t
                    elif state in ("approved", "processing", "completed"):
                        if right in ("deletion", "restriction"):
                            t += timedelta(seconds=rng.uniform(600, 20 * 3600))
                            row["prepared_by_id"] = officer.pk
                            event("proposed", t, actor=officer.pk, note="Tidak ada penahanan hukum.")
                            approver = rng.choice(dpo)
                            t += timedelta(seconds=rng.uniform(600, 10 * 3600))
                            event("approved", t, actor=approver.pk, frm=cur, to="approved", told="Permintaan disetujui.")
                        else:
                            t += timedelta(seconds=rng.uniform(600, 30 * 3600))
                            event("approved", t, actor=officer.pk, frm=cur, to="approved", told="Permintaan disetujui.")
                        cur = "approved"
                        if state in ("processing", "completed"):
                            t += timedelta(seconds=rng.uniform(60, 3600))
                            event("processing", t, kind="system", frm=cur, to="processing")
                            cur = "processing"
                        if state == "completed":
                            t += timedelta(seconds=rng.uniform(600, 20 * 3600))
                            event("completed", t, kind="system", frm=cur, to="completed", told="Permintaan selesai.")
                            row["closed_at"] = t
            # The chain: each event hashed over the one before it, the head on the request.
            prev = ""
            for seq, e in enumerate(chain, start=1):
                note_digest, told_digest = digest(e["note"]), digest(e["told"])
                h = event_hash(request_id=pk, seq=seq, verb=e["verb"], actor_id=e["actor"], actor_kind=e["kind"],
                               from_state=e["from"], to_state=e["to"], created_at=e["at"], note_digest=note_digest,
                               told_digest=told_digest, prev_hash=prev)
                events.append({"request_id": pk, "seq": seq, "verb": e["verb"], "actor_id": e["actor"],
                               "actor_kind": e["kind"], "from_state": e["from"], "to_state": e["to"], "note": e["note"],
                               "told": e["told"], "created_at": e["at"], "note_digest": note_digest,
                               "told_digest": told_digest, "prev_hash": prev, "hash": h, "anchor_id": None})
                prev = h
            row["event_count"], row["head_hash"] = len(chain), prev
            request_rows.append(row)
            seeded.events += len(chain)
            seeded.states[state] += 1
            if state in ("in_review", "verified", "awaiting_requester") and email and not seeded.search_email:
                seeded.search_email = email
            if state in ("in_review", "approved") and phone and not seeded.search_phone:
                seeded.search_phone = phone
        # Anchors, as beat leaves them: links of up to ANCHOR_BATCH events in (request, number) order.
        anchors = []
        for start in range(0, len(events), ANCHOR_BATCH):
            part = events[start:start + ANCHOR_BATCH]
            anchor_seq += 1
            created = max(e["created_at"] for e in part) + timedelta(minutes=1)
            part_digest = anchor_digest((e["request_id"], e["seq"], e["hash"]) for e in part)
            h = anchor_hash(seq=anchor_seq, created_at=created, event_count=len(part), digest=part_digest,
                            prev_hash=anchor_prev)
            anchors.append({"id": anchor_seq, "seq": anchor_seq, "created_at": created, "event_count": len(part),
                            "digest": part_digest, "prev_hash": anchor_prev, "hash": h})
            for e in part:
                e["anchor_id"] = anchor_seq
            anchor_prev = h
        seeded.open_ids += [r["id"] for r in request_rows if r["state"] in CLOCK | {"awaiting_requester", "submitted"}]
        while not failed:
            try:
                work.put([(model._meta.db_table, columns[model], rows) for model, rows in (
                    (AuditAnchor, anchors), (DataSubjectRequest, request_rows), (RequestEvent, events))], timeout=1)
                break
            except queue.Full:
                continue
    work.put(None)
    writer.join()
    if failed:
        raise failed[0]
    with connection.cursor() as cursor:
        for table in (AuditAnchor._meta.db_table, DataSubjectRequest._meta.db_table):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cursor.execute("ANALYZE")
    seeded.anchors = anchor_seq
    seeded.seconds = time.perf_counter() - started
    return seeded


def copy_writer(work: queue.Queue, failed: list) -> None:
    """Thread: COPY each chunk of rows it is given, in its own connection, until None."""
    from django.db import connection

    try:
        while (item := work.get()) is not None:
            with connection.cursor() as cursor:
                for table, fields, rows in item:
                    names = ", ".join(f'"{c}"' for c in fields)
                    with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row([row[c] for c in fields])
    except BaseException as error:  # noqa: BLE001 - handed to the main thread
        failed.append(error)
        while work.get() is not None:  # let the producer finish
            pass
    finally:
        connection.close()


# -- the simulated people ---------------------------------------------------------------------


@dataclass
class Person:
    """Who submits, and what they type."""

    index: int
    right: str
    english: bool
    role: str
    name: str
    email: str
    phone: str
    shop: str
    representative: bool
    double_post: bool
    ip: str

    @property
    def form_path(self) -> str:
        return ("/en" if self.english else "") + f"/permintaan/{self.right}/"


def make_person(index: int, rng: random.Random, run_tag: str) -> Person:
    rights, weights = list(RIGHT_SHARES), list(RIGHT_SHARES.values())
    first, last = rng.choice(FIRST), rng.choice(LAST)
    has_email, has_phone = rng.random() < 0.85, rng.random() < 0.5
    if not (has_email or has_phone):
        has_email = True
    role = rng.choices(["customer", "staff", "owner"], [70, 15, 15])[0]
    # Typed as people type them: mixed case, national phone format with spaces.
    email = f"{first}.{last}.{run_tag}{index}@{rng.choice(DOMAINS)}" if has_email else ""
    digits = f"{(index * 7919 + int(run_tag, 16)) % 10**8:08d}"
    phone = f"0813 {digits[:4]} {digits[4:]}" if has_phone else ""
    return Person(
        index=index, right=rng.choices(rights, weights)[0], english=rng.random() < 0.2, role=role,
        name=f"{first} {last}", email=email, phone=phone,
        shop=rng.choice(SHOPS) if role == "customer" or rng.random() < 0.5 else "",
        representative=rng.random() < 0.02, double_post=rng.random() < 0.05,
        ip=f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}",
    )


def fill(person: Person, form: Form, appeal_refs: list[str]) -> tuple[list[tuple[str, str]], list]:
    values = dict(form.hidden)
    wanted = {
        "subject_role": person.role, "shop_name": person.shop, "requester_name": person.name,
        "email": person.email, "phone": person.phone, "website": "",
        "details": "Semua data saya, termasuk riwayat belanja." if person.index % 3 else "",
        "wrong_data": "Nama saya di struk digital salah eja.", "correct_data": person.name,
        "reason": "Saya tidak lagi berbelanja di toko itu." if person.index % 2 else "",
        "appeal_reference": appeal_refs[person.index % len(appeal_refs)] if appeal_refs else "DSR-2026-000001",
    }
    for name, value in wanted.items():
        if name in form.names:
            values[name] = value
    files = []
    if person.representative and "authorisation" in form.names:
        values["is_representative"] = "on"
        values["subject_name"] = "Ibu " + person.name.split()[0]
        files.append(("authorisation", "surat-kuasa.pdf", "application/pdf", LETTER_PDF))
    return list(values.items()), files


@dataclass
class Submission:
    person: Person
    signed_key: str = ""
    get_s: float | None = None
    post_s: float | None = None
    second_post_s: float | None = None
    follow_s: float | None = None
    start_lag_s: float = 0.0
    post_status: int | None = None
    second_status: int | None = None
    accepted: bool = False
    error: str = ""
    started: float = 0.0
    ended: float = 0.0
    done: bool = False


async def submit(port: int, result: Submission, appeal_refs: list[str]) -> Submission:
    """One person's submission as a browser makes it: GET the form, POST it, follow the 303.
    Fills `result` as it goes: what a person who gave up had done is still there."""
    person = result.person
    language = "en-US,en;q=0.8" if person.english else "id-ID,id;q=0.9"
    connection = Connection(port, headers=[("X-Forwarded-For", person.ip), ("Accept-Language", language)])
    result.started = time.perf_counter()
    try:
        t0 = time.perf_counter()
        page = await connection.request("GET", person.form_path)
        result.get_s = time.perf_counter() - t0
        if page.status != 200:
            result.error = f"GET form {page.status}"
            return result
        form = find_form(page.text, containing="submission_key", base_path=person.form_path)
        if form is None:
            result.error = "no form with a submission_key on the page"
            return result
        result.signed_key = form.hidden.get("submission_key", "")
        fields, files = fill(person, form, appeal_refs)
        body, content_type = encode_form(fields, files, form.enctype)
        post_headers = [("Origin", connection.base), ("Referer", connection.base + person.form_path)]
        t0 = time.perf_counter()
        posted = await connection.request("POST", form.action, body=body, content_type=content_type,
                                          headers=post_headers)
        result.post_s = time.perf_counter() - t0
        result.post_status = posted.status
        location = posted.header("location") or ""
        if posted.status != 303 or not location.endswith(SENT_PATH_END):
            result.error = f"POST {posted.status}" + (f" -> {location}" if location else "")
            if posted.status == 200:
                errors = re.findall(r'class="[^"]*error[^"]*"[^>]*>(.*?)<', posted.text, re.S)
                result.error += ": " + "; ".join(html.unescape(e.strip()) for e in errors if e.strip())[:300]
            return result
        result.accepted = True
        if person.double_post:  # a double click: the same form posted again at once
            t0 = time.perf_counter()
            again = await connection.request("POST", form.action, body=body, content_type=content_type,
                                             headers=post_headers)
            result.second_post_s = time.perf_counter() - t0
            result.second_status = again.status
        t0 = time.perf_counter()
        sent = await connection.request("GET", urlsplit(location).path)
        result.follow_s = time.perf_counter() - t0
        if sent.status != 200:
            result.error = f"GET {location} {sent.status}"
    except (OSError, asyncio.IncompleteReadError, ValueError) as error:
        result.error = f"{type(error).__name__}: {error}"[:200]
    except asyncio.CancelledError:
        result.error = "gave up: no answer in time"
        raise
    finally:
        result.ended = time.perf_counter()
        result.done = True
        await connection.close()
    return result


async def finish(tasks: list[asyncio.Task], results: list[Submission], timeout: float) -> None:
    """Wait for the people still submitting, at most `timeout` seconds; the others give up."""
    if tasks:
        _done, pending = await asyncio.wait(tasks, timeout=max(timeout, 0.01))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    for result in results:
        if not result.done:
            result.error = "gave up: no answer in time"
            result.ended = time.perf_counter()


async def open_loop(port: int, rate: float, seconds: float, people: list[Person], appeal_refs: list[str],
                    rng: random.Random, grace: float) -> list[Submission]:
    """People arrive as a Poisson process of `rate` a second, none waiting for another; those
    without an answer `grace` seconds after the last arrival give up."""
    loop = asyncio.get_running_loop()
    gaps = [rng.expovariate(rate) for _ in people]
    scale = seconds / sum(gaps)  # exactly len(people) arrivals in `seconds`
    start = loop.time() + 0.05
    at, tasks, results = 0.0, [], []
    for person, gap in zip(people, gaps):
        at += gap * scale
        delay = start + at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        result = Submission(person=person, start_lag_s=max(0.0, loop.time() - start - at))
        results.append(result)
        tasks.append(asyncio.create_task(submit(port, result, appeal_refs)))
    await finish(tasks, results, grace)
    return results


async def closed_loop_intake(port: int, users: int, seconds: float, make: callable, appeal_refs: list[str],
                             grace: float) -> tuple[list[Submission], float]:
    """`users` people, each submitting again as soon as the last submission is done, for `seconds`
    (those still submitting `grace` seconds later give up)."""
    loop = asyncio.get_running_loop()
    stop = loop.time() + seconds
    results: list[Submission] = []
    counter = iter(range(10**9))

    async def one_user():
        while loop.time() < stop:
            result = Submission(person=make(next(counter)))
            results.append(result)
            await submit(port, result, appeal_refs)

    started = loop.time()
    await finish([asyncio.create_task(one_user()) for _ in range(users)], results, seconds + grace)
    return results, min(loop.time(), stop + grace) - started


def settle(port: int, limit: float = 60.0) -> float:
    """Wait until the server answers the minimal page quickly again (the work left by people who
    gave up is done); returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        t0 = time.perf_counter()
        try:
            asyncio.run(fetch_once(port, MINIMAL_PATH))
        except OSError:
            pass
        if time.perf_counter() - t0 < 0.05:
            break
        time.sleep(0.5)
    return time.monotonic() - started


async def closed_loop_get(port: int, connections: int, seconds: float, paths: list[str]) -> dict:
    """`connections` keep-alive connections, each GETting the next path as soon as the last answered."""
    loop = asyncio.get_running_loop()
    stop = loop.time() + seconds
    latencies: list[float] = []
    statuses: Counter = Counter()
    counter = iter(range(10**9))

    async def one(i):
        connection = Connection(port, headers=[("X-Forwarded-For", f"10.200.0.{i}"), ("Accept-Language", "id")])
        try:
            while loop.time() < stop:
                path = paths[next(counter) % len(paths)]
                t0 = time.perf_counter()
                response = await connection.request("GET", path)
                latencies.append(time.perf_counter() - t0)
                statuses[response.status] += 1
        finally:
            await connection.close()

    cpu0, started = time.process_time(), loop.time()
    await asyncio.gather(*(one(i) for i in range(connections)))
    elapsed = loop.time() - started
    return {"count": len(latencies), "seconds": elapsed, "rate": len(latencies) / elapsed, "statuses": statuses,
            "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "client_cpu": (time.process_time() - cpu0) / elapsed}


# -- the admin, through a real login ----------------------------------------------------------


async def admin_login(port: int) -> Connection:
    connection = Connection(port, headers=[("Accept-Language", "id")])
    page = await connection.request("GET", "/admin/login/?next=/admin/")
    form = find_form(page.text, containing="password", base_path="/admin/login/?next=/admin/")
    if page.status != 200 or form is None:
        raise SystemExit(f"admin login page: {page.status}, no login form")
    fields = {**form.hidden, "username": ADMIN_USER, "password": ADMIN_PASSWORD}
    body, content_type = encode_form(list(fields.items()), [], "application/x-www-form-urlencoded")
    posted = await connection.request("POST", form.action, body=body, content_type=content_type,
                                      headers=[("Origin", connection.base), ("Referer", connection.base + "/admin/login/")])
    if posted.status != 302 or "sessionid" not in connection.cookies:
        raise SystemExit(f"admin login refused: {posted.status} {posted.text[:500]}")
    return connection


async def admin_pages(port: int, pages: list[tuple[str, str]], loads: int) -> dict[str, dict]:
    connection = await admin_login(port)
    timings: dict[str, dict] = {}
    try:
        for label, path in pages:
            seconds, size, rows = [], 0, 0
            for i in range(loads + 2):  # two loads to warm, not counted
                t0 = time.perf_counter()
                response = await connection.request("GET", path)
                elapsed = time.perf_counter() - t0
                if response.status != 200:
                    raise SystemExit(f"admin {path}: {response.status}\n{response.text[:1500]}")
                if i >= 2:
                    seconds.append(elapsed)
                size = len(response.body)
                rows = len(re.findall(r'<tr[^>]*>\s*<t[hd] class="field-reference_col', response.text))
            timings[label] = {"path": path, "median": percentile(seconds, 50), "p95": percentile(seconds, 95),
                              "max": max(seconds), "bytes": size, "rows": rows}
    finally:
        await connection.close()
    return timings


# -- the chain's cost, in process -------------------------------------------------------------


def chain_cost_in_process(count: int, rng: random.Random) -> dict:
    """request_submit timed `count` times, with the time in chain_event and in the head's UPDATE."""
    from django.db import connection

    from requests_portal.services import intake

    original = intake.chain_event
    spent = {"chain": 0.0, "head": 0.0}

    def timed_chain_event(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent["chain"] += time.perf_counter() - t0

    def timed_execute(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if sql.startswith("UPDATE") and '"head_hash"' in sql and '"event_count"' in sql:
                spent["head"] += time.perf_counter() - t0

    tag = secrets.token_hex(3)
    people = [make_person(i, rng, tag) for i in range(count + 20)]

    def one(person):
        intake.request_submit(
            submission_key=f"inproc-{tag}-{person.index}", right=person.right if person.right != "appeal" else "access",
            subject_role=person.role, requester_name=person.name, email=person.email, phone=person.phone,
            shop_name=person.shop or "Toko Berkah Jaya", details="Semua data saya.",
            wrong_data="Nama salah.", correct_data=person.name, language="id",
        )

    for person in people[:20]:  # warm: imports, templates, first queries
        one(person)
    intake.chain_event = timed_chain_event
    try:
        with connection.execute_wrapper(timed_execute):
            t0 = time.perf_counter()
            for person in people[20:]:
                one(person)
            total = time.perf_counter() - t0
    finally:
        intake.chain_event = original
    return {"count": count, "total": total, "chain": spent["chain"], "head": spent["head"]}


# -- the benchmark ----------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def fmt_ms(seconds: float | None) -> str:
    return "-" if seconds is None or seconds != seconds else f"{ms(seconds):.1f}"


def summarise(values: list[float]) -> str:
    return (f"p50 {fmt_ms(percentile(values, 50))}, p95 {fmt_ms(percentile(values, 95))}, "
            f"p99 {fmt_ms(percentile(values, 99))}, max {fmt_ms(max(values) if values else None)} ms")


def count_rows(results: list[Submission]) -> dict:
    """Each accepted submission's key: exactly one request row, with one `submitted` event."""
    from django.db.models import Count

    from requests_portal.forms import read_submission_key
    from requests_portal.models import DataSubjectRequest

    accepted = [r for r in results if r.accepted]
    keys = [read_submission_key(r.signed_key) for r in accepted]
    unreadable = sum(1 for k in keys if k is None)
    keys = [k for k in keys if k]
    found: dict[str, int] = {}
    events: dict[str, int] = {}
    for start in range(0, len(keys), 5000):
        part = keys[start:start + 5000]
        for key, n, e in (DataSubjectRequest.objects.filter(submission_key__in=part).values("submission_key")
                          .annotate(n=Count("pk", distinct=True), e=Count("events")).values_list("submission_key", "n", "e")):
            found[key], events[key] = n, e
    # Requests made by posts the client never saw accepted (an error after the commit).
    others = [read_submission_key(r.signed_key) for r in results if not r.accepted and r.signed_key]
    stray = DataSubjectRequest.objects.filter(submission_key__in=[k for k in others if k]).count()
    return {
        "accepted": len(accepted), "distinct_keys": len(set(keys)), "unreadable": unreadable,
        "rows": sum(found.values()), "exactly_once": sum(1 for k in set(keys) if found.get(k) == 1),
        "missing": sum(1 for k in set(keys) if k not in found), "one_event": sum(1 for k in set(keys) if events.get(k) == 1),
        "stray": stray, "double_posts": sum(1 for r in accepted if r.person.double_post),
        "double_303": sum(1 for r in accepted if r.second_status == 303),
    }


def main_bench(args) -> int:
    from django.conf import settings
    from django.db import connection

    bench_started = time.perf_counter()
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="juno-requests-"))
    port = free_port()
    env = server_environment(tmp, port)
    print(f"== bench/requests.py on {connection.settings_dict['NAME']} (PostgreSQL {connection.pg_version}), "
          f"{os.cpu_count()} cores")
    print(f"   server: gunicorn {' '.join(Server(env, port, args, tmp / 'x').command[2:])}")
    print(f"   rate limits as configured: per IP {settings.RATELIMIT_SUBMIT_PER_IP}, per address "
          f"{settings.RATELIMIT_SUBMIT_PER_ADDRESS} (RATELIMIT_ENABLE={settings.RATELIMIT_ENABLE}); every person "
          f"from an address of their own", flush=True)

    # 1. Seed -------------------------------------------------------------------------------------
    officers, _admin = seed_people()
    seeded = seed_requests(args.requests, rng, officers)
    shares = ", ".join(f"{s} {seeded.states[s]:,}" for s, _ in STATE_SHARES)
    print(f"   seeded in {seeded.seconds:.1f}s: {seeded.requests:,} requests ({shares}), {seeded.events:,} chained "
          f"events in {seeded.anchors} anchors, 8 officers", flush=True)

    # 2. Server -----------------------------------------------------------------------------------
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True,
                   env={**os.environ, **env})
    print(f"   collectstatic in {time.perf_counter() - started:.1f}s (DEBUG off: the manifest the pages need)")
    server = Server(env, port, args, tmp / "gunicorn.log")
    try:
        print(f"   gunicorn answering after {server.start():.1f}s", flush=True)
        return run_phases(args, rng, port, seeded, server, tmp, bench_started)
    finally:
        server.stop()
        if server.process is not None and args.keep_log:
            print(f"   gunicorn log: {server.log}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run_phases(args, rng, port, seeded: Seeded, server: Server, tmp: Path, bench_started: float) -> int:
    from requests_portal import tasks
    from requests_portal.models import AuditAnchor, DataSubjectRequest, RequestEvent
    from requests_portal.notifications import status_token

    run_tag = f"{rng.getrandbits(16):04x}"
    watch = CpuWatch()
    watch.roots["gunicorn"] = server.process.pid
    machine: dict[str, dict[str, float]] = {}

    def watched(name: str, fn):
        before = watch.sample()
        result = fn()
        machine[name] = CpuWatch.usage(before, watch.sample())
        return result

    appeal_refs = seeded.refused_refs[:500]
    counter = iter(range(10**9))

    def person(_=None):
        return make_person(next(counter), rng, run_tag)

    # Warm every worker on every page of the run (imports, templates, connections), not counted.
    started = time.perf_counter()
    warm, _ = asyncio.run(closed_loop_intake(port, 8, 3.0, person, appeal_refs, args.grace))
    problems = Counter(r.error for r in warm if r.error)
    if problems or not warm:
        raise SystemExit(f"warm-up submissions failed: {problems.most_common(5)}")
    asyncio.run(closed_loop_get(port, 8, 1.0, [MINIMAL_PATH]))
    print(f"   warmed up in {time.perf_counter() - started:.1f}s ({len(warm)} submissions)", flush=True)
    events_before = RequestEvent.objects.filter(anchor__isnull=True).count()
    if args.wait_quiet:
        waited = wait_until_quiet(watch, args.wait_quiet)
        print(f"   waited {waited:.0f}s for other work on the machine to stop", flush=True)

    # 3. Intake, open loop --------------------------------------------------------------------------
    people = [person() for _ in range(round(args.rate * args.seconds))]
    cpu0 = time.process_time()
    results = watched("intake, open loop", lambda: asyncio.run(
        open_loop(port, args.rate, args.seconds, people, appeal_refs, rng, args.grace)))
    client_cpu = time.process_time() - cpu0
    accepted = [r for r in results if r.accepted]
    errors = Counter(r.error.split(":")[0] for r in results if r.error and not r.accepted)
    first_arrival = min(r.started for r in results if r.started)
    last_arrival = max(r.started for r in results)
    last_answer = max((r.ended for r in accepted), default=last_arrival)
    drain = last_answer - last_arrival
    window = args.seconds
    print(f"   intake (open loop): {len(people):,} people over {window:.0f}s, {len(accepted):,} accepted", flush=True)

    # 4. Counts ------------------------------------------------------------------------------------
    counted = count_rows(results)

    # 5. Intake, closed loop (the most this server takes) --------------------------------------------
    settled = settle(port)
    burst, burst_s = watched("intake, closed loop", lambda: asyncio.run(
        closed_loop_intake(port, args.users, args.burst_seconds, person, appeal_refs, args.grace)))
    settled += settle(port)
    burst_ok = [r for r in burst if r.accepted]
    burst_count = count_rows(burst)
    print(f"   intake (closed loop, {args.users} people): {len(burst_ok):,} accepted in {burst_s:.1f}s (the server "
          f"settled for {settled:.1f}s around it)", flush=True)

    # 6. Status page vs minimal page -------------------------------------------------------------------
    new_ids = list(DataSubjectRequest.objects.filter(submission_key__in=[
        k for k in (read_key(r.signed_key) for r in accepted[:600]) if k]).values_list("pk", flat=True))
    sample_ids = rng.sample(range(1, seeded.requests + 1), min(1400, seeded.requests)) + new_ids
    tokens = [status_token(r) for r in DataSubjectRequest.objects.filter(pk__in=sample_ids).only("pk", "public_id")]
    rng.shuffle(tokens)
    status_paths = [f"/permintaan/status/{t}/" for t in tokens]
    check = asyncio.run(fetch_once(port, status_paths[0]))
    if check.status != 200:
        raise SystemExit(f"status page: {check.status}\n{check.text[:1500]}")
    rounds = {"minimal": [], "status": []}
    for i in range(2):
        for name, paths in (("minimal", [MINIMAL_PATH]), ("status", status_paths)):
            rounds[name].append(watched(f"{name} page, round {i + 1}", lambda: asyncio.run(
                closed_loop_get(port, args.connections, args.throughput_seconds, paths))))
    print(f"   status and minimal pages: {args.connections} connections, {args.throughput_seconds:.0f}s each, "
          "alternated twice", flush=True)

    # 7. Admin queue -------------------------------------------------------------------------------
    import axes.utils

    axes.utils.reset()
    pages = [
        ("queue, first page", QUEUE_PATH),
        ("queue, page 20", QUEUE_PATH + "?p=20"),
        ("open and late", QUEUE_PATH + "?state=open&late=yes"),
        ("in review, one right", QUEUE_PATH + "?state=in_review&right=deletion"),
        ("search by e-mail", QUEUE_PATH + "?" + urlencode({"q": seeded.search_email.upper()})),
        ("search by phone", QUEUE_PATH + "?" + urlencode({"q": "0" + seeded.search_phone[3:]})),
    ]
    admin = watched("admin pages", lambda: asyncio.run(admin_pages(port, pages, args.admin_loads)))
    total_requests = DataSubjectRequest.objects.count()
    print(f"   admin: {len(pages)} pages x {args.admin_loads} loads over {total_requests:,} requests", flush=True)

    # 8. The chain's cost ----------------------------------------------------------------------------
    server.stop()  # the machine's cores to the in-process measures
    inproc = chain_cost_in_process(args.inproc, rng) if args.inproc else None
    pending = RequestEvent.objects.filter(anchor__isnull=True).count()
    anchors_before = AuditAnchor.objects.count()
    t0 = time.perf_counter()
    anchored = tasks.audit_anchor()
    anchor_s = time.perf_counter() - t0
    anchor_links = AuditAnchor.objects.count() - anchors_before

    # Report ------------------------------------------------------------------------------------------
    posts = [r.post_s for r in accepted]
    gets = [r.get_s for r in results if r.get_s is not None]
    follows = [r.follow_s for r in results if r.follow_s is not None]
    seconds_posts = [r.second_post_s for r in results if r.second_post_s is not None]
    flows = [r.ended - r.started for r in accepted]
    lags = [r.start_lag_s for r in results]
    p99 = percentile(posts, 99)
    achieved = len(accepted) / max(last_answer - first_arrival, 1e-9)
    print()
    print(f"== Intake at {args.rate:.0f} submissions/s offered (open loop, Poisson arrivals, {window:.0f}s)")
    print(f"   offered {len(people):,} submissions in {window:.0f}s = {len(people) / window:.1f}/s; accepted "
          f"{len(accepted):,} (303 to {SENT_PATH_END}); {len(results) - len(accepted)} not accepted"
          + (f": {dict(errors.most_common(4))}" if errors else ""))
    print(f"   accepted per second from the first arrival to the last accepted answer: {achieved:.1f}; that answer "
          f"came {ms(drain):.0f} ms after the last arrival ({'kept up' if drain < 1 else 'a backlog built up'}"
          f"{f'; people gave up {args.grace:.0f}s after the last arrival' if errors.get('gave up') else ''})")
    print(f"   POST (the submission):   {summarise(posts)}")
    print(f"   GET of the form:         {summarise(gets)}")
    print(f"   GET after the 303:       {summarise(follows)}")
    if seconds_posts:
        print(f"   second POST (double):    {summarise(seconds_posts)}")
    print(f"   whole browser flow:      {summarise(flows)}")
    print(f"   client: {client_cpu / window:.0%} of one core; arrivals started late by at most {ms(max(lags)):.1f} ms")
    print()
    print("== Every accepted submission in the database exactly once")
    c = counted
    print(f"   {c['accepted']:,} accepted POSTs carried {c['distinct_keys']:,} distinct submission keys "
          f"({c['unreadable']} unreadable); rows with those keys: {c['rows']:,}; keys with exactly one row: "
          f"{c['exactly_once']:,}; missing: {c['missing']}; with exactly one event: {c['one_event']:,}")
    print(f"   {c['double_posts']} of them posted twice (double click): {c['double_303']} second POSTs answered 303, "
          f"no second row; requests made by posts not seen accepted: {c['stray']}")
    print()
    print(f"== Intake, closed loop: {args.users} people submitting one after another, {burst_s:.0f}s "
          "(with the per-request audit chain as it is)")
    print(f"   {len(burst_ok):,} accepted = {len(burst_ok) / burst_s:.1f} submissions/s "
          f"({3 * len(burst_ok) / burst_s:.0f} HTTP requests/s: form, POST, page after); POST "
          f"{summarise([r.post_s for r in burst_ok])}; rows exactly once: {burst_count['exactly_once']:,} of "
          f"{burst_count['distinct_keys']:,}; not accepted: {len(burst) - len(burst_ok)}")
    use = machine["intake, closed loop"]
    if burst_ok:
        per = use["server_cpu"] / len(burst_ok)
        print(f"   server CPU per submission: {ms(per):.1f} ms (gunicorn {ms(use['cpu_gunicorn']) / len(burst_ok):.1f}, "
              f"PostgreSQL {ms(use['cpu_postgres']) / len(burst_ok):.1f}, Redis {ms(use['cpu_redis']) / len(burst_ok):.1f}):"
              f" {os.cpu_count()} cores given to the server alone would take at most {os.cpu_count() / per:.0f} a second")
    print()
    print(f"== Status page against the minimal page ({args.connections} keep-alive connections, closed loop)")
    print(f"{'page':<10} {'round':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'client':>7}  statuses")
    for name in ("minimal", "status"):
        for i, r in enumerate(rounds[name], 1):
            print(f"{name:<10} {i:>5} {r['rate']:>8.0f} {fmt_ms(r['p50']):>8} {fmt_ms(r['p99']):>8} "
                  f"{r['client_cpu']:>6.0%}  {dict(r['statuses'])}")
    best = {name: max(r["rate"] for r in rounds[name]) for name in rounds}
    ratio = best["status"] / best["minimal"]
    print(f"   best round each: status {best['status']:.0f} req/s, minimal {best['minimal']:.0f} req/s: "
          f"{ratio:.2f} x ({len(status_paths):,} different requests' pages)")
    cpu_per = {name: min(machine[f"{name} page, round {i}"]["server_cpu"] / max(r["count"], 1)
                         for i, r in enumerate(rounds[name], 1)) for name in rounds}
    print(f"   server CPU per page (gunicorn, PostgreSQL, Redis; lowest round): minimal {ms(cpu_per['minimal']):.2f} ms, "
          f"status {ms(cpu_per['status']):.2f} ms: by CPU alone the status page could reach "
          f"{cpu_per['minimal'] / cpu_per['status']:.2f} x the minimal one's rate")
    print()
    print(f"== Admin queue over {total_requests:,} requests (one logged-in superuser, {args.admin_loads} loads each, "
          "one after another)")
    print(f"{'page':<22} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'rows':>5} {'KB':>5}  path")
    for label, t in admin.items():
        print(f"{label:<22} {fmt_ms(t['median']):>10} {fmt_ms(t['p95']):>8} {fmt_ms(t['max']):>8} {t['rows']:>5} "
              f"{t['bytes'] / 1024:>5.0f}  {t['path']}")
    print()
    print("== The audit chain's cost")
    if inproc:
        k = inproc["count"]
        chain_ms = ms(inproc["chain"] + inproc["head"]) / k
        print(f"   in process, services.request_submit x {k}: {ms(inproc['total']) / k:.2f} ms each, of which the "
              f"chain {chain_ms:.2f} ms ({chain_ms / (ms(inproc['total']) / k):.0%}: chain_event "
              f"{ms(inproc['chain']) / k:.2f} ms with the event's INSERT, the head's UPDATE {ms(inproc['head']) / k:.2f} ms)")
    print(f"   requests_portal.tasks.audit_anchor over the run's {pending:,} unanchored events ({events_before:,} from "
          f"the warm-up): {anchored:,} anchored in {anchor_links} link(s), {anchor_s:.2f}s = "
          f"{anchored / anchor_s if anchor_s else 0:,.0f} events/s (beat: once a minute, off the write path)")
    print()
    print(f"== The machine during the run (cores in use of the {os.cpu_count()}; server: gunicorn, PostgreSQL, Redis; "
          "client: this process)")
    print(f"{'phase':<22} {'server':>7} {'client':>7} {'others':>7}  server CPU per request (gunicorn + PostgreSQL "
          "+ Redis)")
    served = {
        "intake, open loop": (len(accepted), "submission (form, POST, page after)"),
        "intake, closed loop": (len(burst_ok), "submission"),
        "admin pages": (len(pages) * (args.admin_loads + 2), "page"),
        **{f"{name} page, round {i}": (r["count"], "page") for name in rounds for i, r in enumerate(rounds[name], 1)},
    }
    for name, use in machine.items():
        n, unit = served.get(name, (0, ""))
        per = (f"{ms(use['server_cpu']) / n:.2f} ms a {unit} ({ms(use['cpu_gunicorn']) / n:.2f} + "
               f"{ms(use['cpu_postgres']) / n:.2f} + {ms(use['cpu_redis']) / n:.2f})") if n else ""
        print(f"{name:<22} {use['server']:>7.2f} {use['client']:>7.2f} {use['others']:>7.2f}  {per}")
    busy = {name: use["others"] for name, use in machine.items() if use["others"] > 0.15}
    if busy:
        print(f"   WARNING: other work took cores from the server during {', '.join(busy)}: the figures of "
              "those phases are lower than this machine gives; run again on a quiet machine.")
    print()
    print("== Targets")
    exact = c["exactly_once"] == c["distinct_keys"] == c["accepted"] and c["unreadable"] == 0
    intake_met = (len(accepted) == len(people) and len(people) / window >= RATE_TARGET and drain < 1.0
                  and p99 < P99_TARGET_MS / 1000)
    status_met = ratio >= STATUS_RATIO_TARGET
    admin_worst = max(t["p95"] for t in admin.values())
    admin_met = admin_worst < ADMIN_TARGET_MS / 1000
    print(f"   {RATE_TARGET} submissions/s sustained, POST p99 < {P99_TARGET_MS} ms: {len(people) / window:.0f}/s "
          f"offered, {len(accepted):,} of {len(people):,} accepted, p99 {fmt_ms(p99)} ms -> "
          f"{'MET' if intake_met else 'MISSED'}")
    print(f"   every accepted submission in the database exactly once: {c['exactly_once']:,} of {c['accepted']:,} -> "
          f"{'MET' if exact else 'MISSED'}")
    print(f"   status page >= {STATUS_RATIO_TARGET} x the minimal page's req/s: {ratio:.2f} x -> "
          f"{'MET' if status_met else 'MISSED'}")
    print(f"   admin queue at {total_requests:,} requests < {ADMIN_TARGET_MS} ms a page (p95, worst page): "
          f"{fmt_ms(admin_worst)} ms -> {'MET' if admin_met else 'MISSED'}")
    print(f"\n   whole benchmark: {time.perf_counter() - bench_started:.0f}s")
    all_met = intake_met and exact and status_met and admin_met
    return 1 if args.strict and not all_met else 0


def read_key(signed: str) -> str | None:
    from requests_portal.forms import read_submission_key

    return read_submission_key(signed)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark request intake, the status page and the admin queue under gunicorn (see the docstring)."
    )
    parser.add_argument("--requests", type=int, default=100_000, help="requests seeded (default 100000)")
    parser.add_argument("--rate", type=float, default=200, help="submissions a second offered (default 200)")
    parser.add_argument("--seconds", type=float, default=30, help="seconds of open-loop intake (default 30)")
    parser.add_argument("--grace", type=float, default=15,
                        help="seconds after the last arrival before people still waiting give up (default 15)")
    parser.add_argument("--users", type=int, default=32, help="people of the closed-loop intake (default 32)")
    parser.add_argument("--burst-seconds", type=float, default=10, help="seconds of closed-loop intake (default 10)")
    parser.add_argument("--connections", type=int, default=32,
                        help="connections of the status/minimal throughput (default 32)")
    parser.add_argument("--throughput-seconds", type=float, default=8, help="seconds per throughput round (default 8)")
    parser.add_argument("--admin-loads", type=int, default=20, help="loads of each admin page (default 20)")
    parser.add_argument("--inproc", type=int, default=300, help="request_submit calls timed in process (default 300)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--threads", type=int, default=2, help="threads per gthread worker (default 2)")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (default gthread)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the data and the people")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="on a shared machine, wait up to this long for other work to stop before measuring")
    parser.add_argument("--keep-log", action="store_true", help="keep the gunicorn log and say where")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.requests < 1000 or args.rate <= 0 or args.seconds <= 0 or args.workers < 1:
        parser.error("--requests at least 1000, --rate, --seconds and --workers positive")

    if not inside_services():
        reexec_inside_services("bench/requests.py", argv)  # does not return
    sys.path.insert(0, str(ROOT))
    # This process signs status tokens and reads submission keys as the server does.
    os.environ["SECRET_KEY"] = SECRET_KEY
    os.environ["DJANGO_SETTINGS_MODULE"] = "junoprivacy.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench/requests.py runs on PostgreSQL: start it as `python3 bench/requests.py`")
    return main_bench(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
