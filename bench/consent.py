#!/usr/bin/env python3
"""Benchmark of consent checks through the JUNOPOS API under gunicorn, against a minimal JSON view
in the same server, over a ledger of millions of events.

    python3 bench/consent.py                           # the whole run, one command (about 3 minutes)
    python3 bench/consent.py --events 200000 --subjects 50000 --seconds 5      # a quick look
    python3 bench/consent.py --connections 16          # another concurrency (both sides alike)
    python3 bench/consent.py --strict                  # exit 1 when a target is missed

Run from anywhere, it sets up .venv as scripts/test does, starts the throwaway PostgreSQL and
Redis of scripts/services.sh, migrates, runs the benchmark in the venv and stops the servers
(bench/bootstrap.py). Nothing here is part of the test suite.

What it does, on that PostgreSQL and Redis:
1. Seeds `--events` consent events (default 5,000,000) over `--subjects` subjects (1,000,000)
   and `--merchants` shops (3,000) with plain SQL, and the state rows that replaying that ledger
   implies, computed in SQL (bench/consentkit.py says how: identifiers, shares of purposes and
   actions, indexes dropped during the load and built after it, foreign keys checked after);
   then VACUUM ANALYZE. Checks on `--rebuild-sample` random subjects that
   consent.services.ledger.consent_state_rebuild(identifiers=...) finds the seeded state equal
   to its own replay of the ledger.
2. Creates an API client with the scope consent:read for all merchants
   (consent.services.api_client_create; a rate limit high enough never to refuse: the limit is
   still counted on Redis per call) and starts gunicorn as bench/requests.py does (same server
   shape, default 4 gthread workers x 2 threads, its settings and environment) serving
   bench/bench_urls.py: the portal's URLs, the API at /api/v1/, and `/bench/minimal.json`, a bare
   view returning a small JSON body through the same middleware.
3. Single checks: closed loop, `--connections` keep-alive connections (default: as many as the
   server has threads, so that no request waits in the listen queue and latency is the server's
   own), each POSTing the next body as soon as the last one is answered, for `--seconds` (default
   20) after a warm-up; (a) the minimal JSON view, (b) POST /api/v1/consent/check with a bearer
   token and a body from a sample of checks: three in four about a seeded subject (a random state
   row's identifier and merchant, its own purpose half the time), one in four about someone never
   seen, some with a merchant; both sides send the same bodies. `--rounds` rounds (default 2), the
   order reversed each round (minimal first, then API first...), so that neither side profits
   from the order. Every answer must be 200; the API's answers for a few hundred checks are
   compared with consent.selectors.consent_check in process.
4. Batches: POST /api/v1/consent/check-batch with 1,000 checks, `--batches` calls (default 50)
   one after another after three not counted: p50, p95, max.
5. Where the time goes: the API's parts timed in process (the token's query, the rate-limit
   count, the state query, a batch's query and decisions) and EXPLAIN ANALYZE of the state query
   of one check and of one batch; the cores used by the server (gunicorn, PostgreSQL, Redis), by
   the client (this process) and by everything else during each phase, and the server's CPU per
   request.
6. Prints the machine, ledger and state sizes, every figure, and the targets with MET or MISSED:
   single checks at least 0.7 x the minimal view's requests a second with a p99 under 20 ms; a
   batch of 1,000 checks under 100 ms (p95).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from bootstrap import ROOT, inside_services, reexec_inside_services  # noqa: E402

# This file is bench/consent.py: with bench/ first on the path, `import consent` would import it
# instead of the consent app. The shared helpers are imported as bench.* from the repository root.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
sys.path.insert(0, str(ROOT))
from bench import consentkit  # noqa: E402
from bench import requests as reqbench  # noqa: E402  (bench/requests.py: client, server, CPU watch)

RATIO_TARGET = 0.7  # single checks' req/s at least 0.7 x the minimal JSON view's
P99_TARGET_MS = 20  # of a single check
BATCH_TARGET_MS = 100  # a batch of 1,000 checks (p95)
BATCH_SIZE = 1000

MINIMAL_JSON_PATH = "/bench/minimal.json"
CHECK_PATH = "/api/v1/consent/check"
BATCH_PATH = "/api/v1/consent/check-batch"
CLIENT_RATE_LIMIT = 1_000_000_000  # calls a minute: never reached, still counted per call

percentile, ms, fmt_ms, summarise = reqbench.percentile, reqbench.ms, reqbench.fmt_ms, reqbench.summarise


# -- load ----------------------------------------------------------------------------------


async def closed_loop_post(port: int, connections: int, seconds: float, path: str, bodies: list[bytes],
                           headers: list[tuple[str, str]]) -> dict:
    """`connections` keep-alive connections, each POSTing the next body as soon as the last was answered."""
    loop = asyncio.get_running_loop()
    stop = loop.time() + seconds
    latencies: list[float] = []
    statuses: Counter = Counter()
    failures: list[str] = []
    counter = iter(range(10**12))

    async def one():
        connection = reqbench.Connection(port, headers=[("Accept", "application/json"), *headers])
        try:
            while loop.time() < stop:
                body = bodies[next(counter) % len(bodies)]
                t0 = time.perf_counter()
                response = await connection.request("POST", path, body=body, content_type="application/json")
                latencies.append(time.perf_counter() - t0)
                statuses[response.status] += 1
                if response.status != 200 and len(failures) < 3:
                    failures.append(f"{response.status} {response.text[:300]}")
        finally:
            await connection.close()

    started = loop.time()
    await asyncio.gather(*(one() for _ in range(connections)))
    elapsed = loop.time() - started
    return {"count": len(latencies), "seconds": elapsed, "rate": len(latencies) / elapsed, "statuses": statuses,
            "failures": failures, "latencies": latencies, "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95), "p99": percentile(latencies, 99)}


async def post_sequential(port: int, path: str, bodies: list[bytes], headers: list[tuple[str, str]],
                          warm: int = 3) -> tuple[list[float], list[reqbench.Response]]:
    """Each body POSTed after the last was answered, on one connection; the first `warm` not timed."""
    connection = reqbench.Connection(port, headers=[("Accept", "application/json"), *headers])
    seconds, answers = [], []
    try:
        for i, body in enumerate(bodies):
            t0 = time.perf_counter()
            response = await connection.request("POST", path, body=body, content_type="application/json")
            elapsed = time.perf_counter() - t0
            if response.status != 200:
                raise SystemExit(f"{path}: {response.status}\n{response.text[:1500]}")
            if i >= warm:
                seconds.append(elapsed)
                answers.append(response)
    finally:
        await connection.close()
    return seconds, answers


# -- where the time goes ---------------------------------------------------------------------


def timed(fn, repeat: int) -> float:
    """Median seconds of fn() over `repeat` calls (after five not counted)."""
    for _ in range(5):
        fn()
    values = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        values.append(time.perf_counter() - t0)
    return percentile(values, 50)


def anatomy(token: str, checks: list[consentkit.Check]) -> dict:
    """The API's parts in process, and the plans of its state queries."""
    from django.db import connection

    from consent.api.auth import api_client_by_token
    from consent.api.ratelimit import rate_limit_hit
    from consent.models import ConsentState
    from consent.selectors import STATE_FIELDS, CheckItem, _merchant_q, consent_check, consent_check_many, purpose_get
    from consent.services import subject_ref

    found: dict = {}
    cycle = iter(range(10**9))

    def next_check():
        return checks[next(cycle) % len(checks)]

    def one_check():
        c = next_check()
        subject = subject_ref(email=c.email, phone=c.phone, merchant_id=c.merchant_id)
        return consent_check(identifiers=subject.identifiers, merchant_id=c.merchant_id, purpose=purpose_get(c.purpose))

    found["token query"] = timed(lambda: api_client_by_token(token), 500)
    found["rate limit (Redis)"] = timed(lambda: rate_limit_hit(client_key="bench-anatomy", limit=CLIENT_RATE_LIMIT), 500)
    found["subject_ref + consent_check"] = timed(one_check, 500)
    items = [
        CheckItem(identifiers=tuple(subject_ref(email=c.email, phone=c.phone).identifiers), merchant_id=c.merchant_id,
                  purpose=purpose_get(c.purpose))
        for c in checks[:BATCH_SIZE]
    ]
    found["consent_check_many (1,000)"] = timed(lambda: consent_check_many(items), 20)

    c = next(x for x in checks if x.merchant_id is not None and (x.email or x.phone))
    queryset = (ConsentState.objects.filter(identifier__in=[c.email or c.phone], purpose_id=purpose_get(c.purpose).pk)
                .filter(_merchant_q({c.merchant_id})).values_list(*STATE_FIELDS))
    batch_qs = (ConsentState.objects.filter(identifier__in=sorted({i for it in items for i in it.identifiers}),
                                            purpose_id__in=sorted({it.purpose.pk for it in items}))
                .filter(_merchant_q({it.merchant_id for it in items})).values_list(*STATE_FIELDS))
    def state_queryset():
        return (ConsentState.objects.filter(identifier__in=[c.email or c.phone], purpose_id=purpose_get(c.purpose).pk)
                .filter(_merchant_q({c.merchant_id})).values_list(*STATE_FIELDS))

    found["  a state query built by the ORM"] = timed(lambda: state_queryset().query.sql_with_params(), 500)
    sql, params = state_queryset().query.sql_with_params()
    with connection.cursor() as cursor:
        found["  a state query run (SQL ready)"] = timed(lambda: (cursor.execute(sql, params), cursor.fetchall()), 500)
    with connection.cursor() as cursor:
        for label, qs in (("single", queryset), ("batch", batch_qs)):
            sql, params = qs.query.sql_with_params()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, TIMING) " + sql, params)
            found[f"plan {label}"] = [row[0] for row in cursor.fetchall()]
    return found


# Stages of an API call, by the function that does each (its cumulative time in cProfile).
STAGES = [
    ("django-ninja's operation (all below)", "ninja/operation.py", "run"),
    ("  authentication (all below)", "ninja/operation.py", "_run_authentication"),
    ("    the client (kept per process) and the count", "consent/api/auth.py", "_client_counted"),
    ("    the token's query", "consent/api/auth.py", "api_client_by_token"),
    ("    last_used_at (_touch)", "consent/api/auth.py", "_touch"),
    ("    the Redis count", "consent/api/ratelimit.py", "rate_limit_hit"),
    ("  the body parsed (pydantic)", "ninja/operation.py", "_get_values"),
    ("  the endpoint", "consent/api/consent.py", "check"),
    ("  the batch endpoint", "consent/api/consent.py", "check_batch"),
    ("    subject_ref", "consent/services/ledger.py", "subject_ref"),
    ("    consent_check", "consent/selectors.py", "consent_check"),
    ("    consent_check_many", "consent/selectors.py", "consent_check_many"),
    ("  the answer validated and rendered", "ninja/operation.py", "_result_to_response"),
]


def in_process(token: str, bodies: list[bytes], batch_body: bytes, *, calls: int, batches: int) -> dict:
    """The minimal view, a single check and a batch, each through Django's whole handler (the same
    middleware and URLconf as the server) in this process, one after another: the medians, and
    where a check and a batch spend their time (cProfile, the functions of most own time)."""
    import cProfile
    import pstats
    import warnings

    from django.test import Client
    from django.test.utils import override_settings

    found: dict = {}
    # WhiteNoise in this process has no collected static files (and the API serves none).
    warnings.filterwarnings("ignore", message="No directory at")
    with override_settings(ROOT_URLCONF="bench.bench_urls", ALLOWED_HOSTS=["*"], DEBUG=False,
                           SECURE_SSL_REDIRECT=False):
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        cycle = iter(range(10**9))

        def post(path, body):
            response = client.post(path, data=body, content_type="application/json")
            if response.status_code != 200:
                raise SystemExit(f"in process {path}: {response.status_code} {response.content[:500]!r}")

        found["minimal JSON view"] = timed(lambda: post(MINIMAL_JSON_PATH, bodies[next(cycle) % len(bodies)]), calls)
        found["API single check"] = timed(lambda: post(CHECK_PATH, bodies[next(cycle) % len(bodies)]), calls)
        found["API batch of 1,000"] = timed(lambda: post(BATCH_PATH, batch_body), batches)
        from django.db import connection

        for label, path, body in (("single", CHECK_PATH, bodies[0]), ("batch", BATCH_PATH, batch_body)):
            queries: list[tuple[str, float]] = []

            def record(execute, sql, params, many, context):
                t0 = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    queries.append((" ".join(sql.split()), time.perf_counter() - t0))

            with connection.execute_wrapper(record):
                post(path, body)
            found[f"queries {label}"] = queries
        for label, path, body_of, n in (("single", CHECK_PATH, lambda: bodies[next(cycle) % len(bodies)], calls),
                                        ("batch", BATCH_PATH, lambda: batch_body, batches)):
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(n):
                post(path, body_of())
            profile.disable()
            stats = pstats.Stats(profile)
            total = sum(v[2] for v in stats.stats.values())
            top = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:12]
            found[f"profile {label}"] = [
                (f"{Path(f).name}:{line} {fn}", tt / total, tt / n) for (f, line, fn), (_, _, tt, _, _) in top
            ]
            found[f"stages {label}"] = [
                (name, sum(ct for (f, _, fn), (_, _, _, ct, _) in stats.stats.items()
                           if f.endswith(suffix) and fn == function) / total)
                for name, suffix, function in STAGES
            ]
    return found


def api_matches_in_process(answers: list[dict], checks: list[consentkit.Check]) -> int:
    """How many API answers differ from consent_check in process (must be none)."""
    from consent.selectors import consent_check, purpose_get
    from consent.services import subject_ref

    wrong = 0
    for answer, c in zip(answers, checks):
        subject = subject_ref(email=c.email, phone=c.phone, merchant_id=c.merchant_id)
        d = consent_check(identifiers=subject.identifiers, merchant_id=c.merchant_id, purpose=purpose_get(c.purpose))
        if (answer["allowed"], answer["reason"], answer["event_id"], answer["basis"]) != (
                d.allowed, d.reason, d.event_id, d.basis):
            wrong += 1
    return wrong


# -- the benchmark ----------------------------------------------------------------------------


def machine_line() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({model or 'unknown CPU'}){memory}"


def main_bench(args) -> int:
    from django.db import connection

    from consent.services import api_client_create
    from consent.services.ledger import consent_state_rebuild

    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="juno-consent-"))
    (tmp / "static").mkdir()
    port = reqbench.free_port()
    env = reqbench.server_environment(tmp, port)
    server = reqbench.Server(env, port, args, tmp / "gunicorn.log")
    print(f"== bench/consent.py on {connection.settings_dict['NAME']} (PostgreSQL {connection.pg_version}), "
          f"{machine_line()}")
    print(f"   server: gunicorn {' '.join(server.command[2:])}", flush=True)

    # 1. Seed ------------------------------------------------------------------------------------
    print(f"   seeding {args.events:,} events over {args.subjects:,} subjects and {args.merchants:,} merchants "
          "(plain SQL)", flush=True)
    seeded = consentkit.seed_ledger(events=args.events, subjects=args.subjects, merchants=args.merchants,
                                    say=lambda line: print(line, flush=True))
    s = seeded.seconds
    print(f"   seeded in {s['total']:.1f}s: events {s['events']:.1f}s, state {s['state']:.1f}s, indexes "
          f"{s['indexes']:.1f}s, checks and VACUUM ANALYZE {s['analyse']:.1f}s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size('consent_consentevent'), pg_total_relation_size('consent_consentstate'), "
            "(SELECT count(DISTINCT e) FROM (SELECT email e FROM consent_consentevent WHERE email <> '' "
            " UNION ALL SELECT phone FROM consent_consentevent WHERE phone <> '') i)"
        )
        ledger_bytes, state_bytes, identifiers = cursor.fetchone()
    sample = consentkit.sample_subject_identifiers(rng, subjects=args.subjects, count=args.rebuild_sample)
    t0 = time.perf_counter()
    report = consent_state_rebuild(identifiers=sample)
    rebuild_s = time.perf_counter() - t0
    if not report.clean:
        raise SystemExit(f"the seeded state differs from the ledger's replay: {report}")
    print(f"   consent_state_rebuild on {args.rebuild_sample} subjects ({report.identifiers} identifiers): clean "
          f"({rebuild_s:.2f}s)", flush=True)

    # 2. Client and server ---------------------------------------------------------------------
    _client, token = api_client_create(name="bench/consent.py", scopes=["consent:read"], all_merchants=True,
                                       rate_limit=CLIENT_RATE_LIMIT)
    checks = consentkit.checks_sample(rng, count=args.checks, subjects=args.subjects, merchant_ids=seeded.merchants)
    unknown = sum(1 for c in checks if consentkit.never_seen(c, args.subjects))
    print(f"   the load's sample: {len(checks):,} checks, {len(checks) - unknown:,} about seeded subjects, {unknown:,} "
          f"about people never seen; {sum(1 for c in checks if c.merchant_id is not None):,} with a merchant", flush=True)
    try:
        print(f"   gunicorn answering after {server.start():.1f}s", flush=True)
        return run_phases(args, port, server, token, checks, {
            "seeded": seeded, "ledger_bytes": ledger_bytes, "state_bytes": state_bytes, "identifiers": identifiers,
            "rebuild": (report, rebuild_s),
        })
    finally:
        server.stop()
        if server.process is not None and args.keep_log:
            print(f"   gunicorn log: {server.log}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run_phases(args, port: int, server, token: str, checks: list[consentkit.Check], facts: dict) -> int:
    auth = [("Authorization", f"Bearer {token}")]
    bodies = [json.dumps(c.body()).encode() for c in checks]
    watch = reqbench.CpuWatch()
    watch.roots["gunicorn"] = server.process.pid
    machine: dict[str, dict] = {}

    def watched(name: str, fn):
        before = watch.sample()
        result = fn()
        machine[name] = reqbench.CpuWatch.usage(before, watch.sample())
        return result

    # Both endpoints answer, and the API answers as the selector does in process.
    first, answers = asyncio.run(post_sequential(port, CHECK_PATH, bodies[:args.verify + 3], auth))
    wrong = api_matches_in_process([json.loads(a.body) for a in answers], checks[3:args.verify + 3])
    if wrong:
        raise SystemExit(f"{wrong} of {args.verify} API answers differ from consent_check in process")
    reasons = Counter(json.loads(a.body)["reason"] for a in answers)
    asyncio.run(post_sequential(port, MINIMAL_JSON_PATH, bodies[:5], auth))
    print(f"   {args.verify} API answers equal consent_check in process ({', '.join(f'{k} {v}' for k, v in reasons.most_common())})",
          flush=True)

    # Warm every worker and thread on both endpoints (imports, connections, the purposes' cache).
    for path in (MINIMAL_JSON_PATH, CHECK_PATH):
        warm = asyncio.run(closed_loop_post(port, args.connections, args.warmup, path, bodies, auth))
        if set(warm["statuses"]) != {200}:
            raise SystemExit(f"warm-up {path}: {dict(warm['statuses'])} {warm['failures']}")
    if args.wait_quiet:
        waited = reqbench.wait_until_quiet(watch, args.wait_quiet)
        print(f"   waited {waited:.0f}s for other work on the machine to stop", flush=True)

    # 3. Single checks against the minimal JSON view, alternated --------------------------------
    rounds: dict[str, list[dict]] = {"minimal": [], "api": []}
    paths = {"minimal": MINIMAL_JSON_PATH, "api": CHECK_PATH}
    for i in range(args.rounds):
        order = ("minimal", "api") if i % 2 == 0 else ("api", "minimal")
        for name in order:
            result = watched(f"{name}, round {i + 1}", lambda: asyncio.run(
                closed_loop_post(port, args.connections, args.seconds, paths[name], bodies, auth)))
            result["cpu"] = machine[f"{name}, round {i + 1}"]
            if set(result["statuses"]) != {200}:
                raise SystemExit(f"{paths[name]}: {dict(result['statuses'])} {result['failures']}")
            rounds[name].append(result)
            print(f"   round {i + 1}, {name}: {result['rate']:,.0f}/s, p99 {fmt_ms(result['p99'])} ms", flush=True)

    # 4. Batches of 1,000 ---------------------------------------------------------------------
    batch_bodies = []
    for b in range(args.batches + 3):
        start = (b * BATCH_SIZE) % max(1, len(checks) - BATCH_SIZE)
        batch_bodies.append(json.dumps({"checks": [c.body() for c in checks[start:start + BATCH_SIZE]]}).encode())
    batch_s, batch_answers = watched("batches", lambda: asyncio.run(post_sequential(port, BATCH_PATH, batch_bodies, auth)))
    batch_results = len(json.loads(batch_answers[0].body)["results"])
    if batch_results != BATCH_SIZE:
        raise SystemExit(f"a batch of {BATCH_SIZE} answered {batch_results} results")

    # 5. Where the time goes ----------------------------------------------------------------------
    parts = anatomy(token, checks)
    parts["in process"] = in_process(token, bodies, batch_bodies[0], calls=300, batches=10)

    return report(args, facts, rounds, batch_s, machine, parts, len(batch_bodies[0]))


def report(args, facts: dict, rounds: dict, batch_s: list[float], machine: dict, parts: dict, batch_bytes: int) -> int:
    seeded = facts["seeded"]
    print()
    print(f"== Consent checks through the API ({os.cpu_count()} cores; server {args.workers} x {args.worker_class} "
          f"{args.threads} threads; {args.connections} connections, closed loop, {args.seconds:.0f}s a round)")
    print(f"   ledger: {seeded.events:,} events ({facts['ledger_bytes'] / 2**20:,.0f} MB with indexes) over "
          f"{seeded.subjects:,} subjects ({facts['identifiers']:,} identifiers), {len(seeded.merchants):,} merchants; "
          f"state: {seeded.states:,} rows ({facts['state_bytes'] / 2**20:,.0f} MB); seeded in "
          f"{seeded.seconds['total']:.0f}s")
    rep, rebuild_s = facts["rebuild"]
    print(f"   seeded state = consent_state_rebuild's replay on {rep.identifiers} identifiers: clean ({rebuild_s:.2f}s)")

    def totals(results: list[dict]) -> tuple[float, list[float]]:
        count = sum(r["count"] for r in results)
        seconds = sum(r["seconds"] for r in results)
        return count / seconds, [x for r in results for x in r["latencies"]]

    for i in range(args.rounds):
        for name in ("minimal", "api"):
            r = rounds[name][i]
            c = r["cpu"]
            label = "minimal JSON view" if name == "minimal" else "API single check"
            print(f"   round {i + 1} {label:18s} {r['rate']:7,.0f}/s  p50 {fmt_ms(r['p50'])}  p95 {fmt_ms(r['p95'])}  "
                  f"p99 {fmt_ms(r['p99'])} ms  (server {c['server']:.2f} cores: {ms(c['server_cpu'] / max(r['count'], 1)):.2f} "
                  f"ms CPU/request; client {c['client']:.2f}, others {c['others']:.2f})")
        ratio_i = rounds["api"][i]["rate"] / rounds["minimal"][i]["rate"]
        print(f"   round {i + 1} ratio {ratio_i:.2f} x")
    minimal_rate, _ = totals(rounds["minimal"])
    api_rate, api_latencies = totals(rounds["api"])
    ratio = api_rate / minimal_rate
    api_p99 = percentile(api_latencies, 99)

    def cpu_per_request(name: str) -> float:
        cpu = sum(r["cpu"]["server_cpu"] for r in rounds[name])
        return cpu / max(1, sum(r["count"] for r in rounds[name]))

    cpu_ratio = cpu_per_request("minimal") / cpu_per_request("api")
    print(f"   all rounds: minimal {minimal_rate:,.0f}/s, API {api_rate:,.0f}/s; API {summarise(api_latencies)}")
    print(f"   by the server's CPU per request: minimal {ms(cpu_per_request('minimal')):.2f} ms, API "
          f"{ms(cpu_per_request('api')):.2f} ms ({cpu_ratio:.2f} x)")
    print(f"   batch of {BATCH_SIZE:,} checks ({batch_bytes / 1024:.0f} KB body), {len(batch_s)} calls one after another: "
          f"p50 {fmt_ms(percentile(batch_s, 50))}, p95 {fmt_ms(percentile(batch_s, 95))}, max {fmt_ms(max(batch_s))} ms")

    inproc = parts.pop("in process")
    print("   through Django's handler in this process, one call after another (median):")
    for key in ("minimal JSON view", "API single check", "API batch of 1,000"):
        print(f"     {key:30s} {ms(inproc[key]):7.2f} ms")
    print(f"     single check / minimal view: {inproc['API single check'] / inproc['minimal JSON view']:.1f} x the time")
    for label in ("single", "batch"):
        queries = inproc[f"queries {label}"]
        print(f"     queries of a {label} call: {len(queries)}, {sum(t for _, t in queries) * 1000:.2f} ms")
        for sql, seconds in queries:
            print(f"       {seconds * 1000:6.2f} ms  {sql if len(sql) <= 130 else sql[:120] + ' ...'}")
    for label in ("single", "batch"):
        print(f"     a {label} call's time by stage (cProfile, cumulative share of the call through the handler):")
        for name, share in inproc[f"stages {label}"]:
            if share:
                print(f"       {share:5.1%}  {name}")
    for label in ("single", "batch"):
        print(f"     own time of a {label} call (cProfile, top functions: share, ms a call):")
        for name, share, per_call in inproc[f"profile {label}"]:
            print(f"       {share:5.1%} {ms(per_call):7.3f}  {name}")
    print("   the API's parts in this process (median):")
    for key in ("token query", "rate limit (Redis)", "subject_ref + consent_check", "  a state query built by the ORM",
                "  a state query run (SQL ready)", "consent_check_many (1,000)"):
        print(f"     {key:36s} {ms(parts[key]):7.2f} ms")
    print("     (a state query: the single check's, built through the ORM's queryset, then run from its SQL)")
    for label in ("single", "batch"):
        print(f"     EXPLAIN ANALYZE, the state query of a {label} check:")
        for line in parts[f"plan {label}"]:
            print(f"       {line if len(line) <= 150 else line[:140] + ' ...'}")

    ratio_met = ratio >= RATIO_TARGET
    p99_met = ms(api_p99) < P99_TARGET_MS
    batch_p95 = percentile(batch_s, 95)
    batch_met = ms(batch_p95) < BATCH_TARGET_MS
    print()
    print(f"   target: single checks >= {RATIO_TARGET} x the minimal view's req/s: {'MET' if ratio_met else 'MISSED'} "
          f"({ratio:.2f} x: {api_rate:,.0f} against {minimal_rate:,.0f}/s)")
    print(f"   target: single check p99 < {P99_TARGET_MS} ms: {'MET' if p99_met else 'MISSED'} ({fmt_ms(api_p99)} ms)")
    print(f"   target: a batch of {BATCH_SIZE:,} < {BATCH_TARGET_MS} ms (p95): {'MET' if batch_met else 'MISSED'} "
          f"({fmt_ms(batch_p95)} ms)")
    others = max(m["others"] for m in machine.values())
    if others > 0.15:
        print(f"   note: other work on this machine took up to {others:.2f} cores during a phase: compare the "
              "CPU per request, or run again with --wait-quiet")
    return 1 if args.strict and not (ratio_met and p99_met and batch_met) else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark consent checks through the API under gunicorn against a minimal JSON view (see the docstring)."
    )
    parser.add_argument("--events", type=int, default=5_000_000, help="consent events seeded (default 5000000)")
    parser.add_argument("--subjects", type=int, default=1_000_000, help="subjects they are about (default 1000000)")
    parser.add_argument("--merchants", type=int, default=3000, help="merchants some subjects are customers of (3000)")
    parser.add_argument("--rebuild-sample", type=int, default=300, help="subjects whose state is checked (300)")
    parser.add_argument("--checks", type=int, default=20_000, help="checks in the load's sample (20000)")
    parser.add_argument("--verify", type=int, default=300, help="API answers compared with consent_check (300)")
    parser.add_argument("--seconds", type=float, default=20, help="seconds of each round of each endpoint (20)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up of each endpoint (3)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, alternated (default 2)")
    parser.add_argument("--batches", type=int, default=50, help="batch calls timed (default 50)")
    parser.add_argument("--connections", type=int, default=0,
                        help="connections of the closed loop (default: workers x threads)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--threads", type=int, default=2, help="threads per gthread worker (default 2)")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (default gthread)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the samples")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="on a shared machine, wait up to this long for other work to stop before measuring")
    parser.add_argument("--keep-log", action="store_true", help="keep the gunicorn log and say where")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.subjects < 1000 or args.events < args.subjects or args.merchants < 1 or args.seconds <= 0:
        parser.error("--subjects at least 1000, --events at least --subjects, --merchants and --seconds positive")
    if args.checks < BATCH_SIZE + 10:
        parser.error(f"--checks at least {BATCH_SIZE + 10}")
    args.connections = args.connections or args.workers * (args.threads if args.worker_class == "gthread" else 1)

    if not inside_services():
        reexec_inside_services("bench/consent.py", argv)  # does not return
    os.environ["SECRET_KEY"] = reqbench.SECRET_KEY
    os.environ["DJANGO_SETTINGS_MODULE"] = "junoprivacy.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench/consent.py runs on PostgreSQL: start it as `python3 bench/consent.py`")
    return main_bench(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
