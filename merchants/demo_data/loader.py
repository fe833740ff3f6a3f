"""The threaded bulk phase: `BulkLoader.load` writes what `SalesGenerator` (sales.py) makes.

Every `seed_demo` run goes through it, whatever its size (the tests at 40 sales, the default
at 200 per merchant); its threads pay off at the million sales `bench/seed.py` times, which
is why it is built as it is (see `load`): generation in one thread, sessions, sales and
payments written in the calling thread, and on PostgreSQL outside a transaction the lines
through a second connection in a third thread. Also here: the ANALYZE after the first chunk
and the progress line after each.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from django.db import connection, transaction

from ..models import DeviceSession, LoyaltyCustomer, Merchant, Outlet, Payment, Sale, SaleLine, StaffUser
from .plans import MerchantPlan, SeedResult
from .sales import LINE_COLUMNS, PAYMENT_COLUMNS, SALE_COLUMNS, SESSION_COLUMNS, SalesGenerator
from .writers import CopyWriter


class BulkLoader:
    """Writes a run's sessions, sales, lines and payments with `writer`, counting into `result`."""

    def __init__(self, writer, result: SeedResult, progress: Callable[[str], None]):
        self.writer = writer
        self.result = result
        self.progress = progress

    def load(self, plans: list[MerchantPlan], generator: SalesGenerator) -> None:
        """Generate chunks in one thread, write them in this one (and a second, see below).

        The generator thread is pure Python (no ORM, no database): it makes chunk k + 1 while
        PostgreSQL ingests chunk k. PostgreSQL is the slower side (index upkeep and foreign-key
        checks), so from the command line the lines go through a second connection in a second
        thread: this thread commits a chunk's sessions, sales and payments, then hands its
        lines to the other, which writes them while this one goes on with the next chunk; the
        lines' foreign keys to their sales are checked at its commit, after the sales' commit.
        Inside a caller's transaction (a test, or `atomic()` around call_command) everything
        goes through the one connection, since a second one could not see uncommitted rows.
        At most four chunks are alive at once (queues of two), so memory stays flat.
        """
        S = generator.sales_per_merchant
        total_sales = S * len(plans)
        sale_base = self.writer.reserve_ids(Sale, total_sales)
        payment_base = self.writer.reserve_ids(Payment, total_sales)
        parallel = isinstance(self.writer, CopyWriter) and not connection.in_atomic_block
        self.result.method += ", 2 connections" if parallel else ""
        stop = threading.Event()
        errors: list[BaseException] = []
        chunks: queue.Queue = queue.Queue(maxsize=2)
        line_batches: queue.Queue = queue.Queue(maxsize=2)

        def put(q: queue.Queue, item) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def get(q: queue.Queue):
            while not stop.is_set():
                try:
                    return q.get(timeout=0.2)
                except queue.Empty:
                    continue
            return None

        def produce():
            try:
                for chunk in generator.chunks(plans, sale_base, payment_base):
                    if not put(chunks, chunk):
                        return
                put(chunks, None)
            except BaseException as exc:
                errors.append(exc)
                stop.set()

        def write_lines():
            try:
                while (lines := get(line_batches)) is not None:
                    with transaction.atomic():
                        self.writer.write(SaleLine, LINE_COLUMNS, lines)
                    self.result.lines += len(lines)
            except BaseException as exc:
                errors.append(exc)
                stop.set()
            finally:
                connection.close()  # this thread's own connection

        threads = [threading.Thread(target=produce, name="seed-demo-generate", daemon=True)]
        if parallel:
            threads.append(threading.Thread(target=write_lines, name="seed-demo-lines", daemon=True))
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        first_chunk = True
        try:
            while (chunk := get(chunks)) is not None:
                with transaction.atomic():
                    self.writer.write(DeviceSession, SESSION_COLUMNS, chunk.sessions)
                    self.writer.write(Sale, SALE_COLUMNS, chunk.sales)
                    self.writer.write(Payment, PAYMENT_COLUMNS, chunk.payments)
                    if not parallel:
                        self.writer.write(SaleLine, LINE_COLUMNS, chunk.lines)
                        self.result.lines += len(chunk.lines)
                if first_chunk and isinstance(self.writer, CopyWriter):
                    self._analyze()
                    first_chunk = False
                if parallel and not put(line_batches, chunk.lines):
                    break
                self.result.sessions += len(chunk.sessions)
                self.result.sales += len(chunk.sales)
                self.result.payments += len(chunk.payments)
                self._report_progress(started, total_sales)
            if parallel:
                put(line_batches, None)
                threads[1].join()
        except BaseException:
            stop.set()
            raise
        finally:
            for thread in threads:
                thread.join(timeout=30)
        if errors:
            raise errors[0]
        if parallel:  # the last lines were committed after the last report
            self._report_progress(started, total_sales)

    def _analyze(self) -> None:
        """Give the planner real statistics once the first chunk is in.

        Fresh or just-truncated tables have none, and the plans PostgreSQL caches per
        connection for the foreign-key checks are made from what it knows then. Seen: with no
        statistics, the check `sales.id = $1` chose the (merchant_id, id) index, a full index
        scan per line, hours at a million sales. ANALYZE changes the tables' pg_class rows,
        which invalidates those cached plans; the next checks are planned with real numbers.
        Autovacuum would do the same, a minute or so later.
        """
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            for model in (Sale, SaleLine, Payment, DeviceSession, LoyaltyCustomer, StaffUser, Outlet, Merchant):
                cursor.execute(f"ANALYZE {qn(model._meta.db_table)}")

    def _report_progress(self, started: float, total_sales: int) -> None:
        r = self.result
        elapsed = max(time.perf_counter() - started, 1e-9)
        rows = r.sessions + r.sales + r.lines + r.payments
        pct = 100 * r.sales / total_sales if total_sales else 100
        self.progress(
            f"  [{pct:3.0f}%] sales {r.sales:,}/{total_sales:,} · lines {r.lines:,} · payments {r.payments:,}"
            f" · sessions {r.sessions:,} · {elapsed:.0f} s · {rows / elapsed:,.0f} rows/s"
        )
