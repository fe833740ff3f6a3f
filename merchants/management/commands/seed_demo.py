"""manage.py seed_demo: deterministic, realistic Indonesian demo data for the governed tables.

    manage.py seed_demo                                   # 12 merchants x 200 sales
    manage.py seed_demo --merchants 100 --sales-per-merchant 10000   # one million sales
    manage.py seed_demo --if-empty                        # nothing if merchants exist
    manage.py seed_demo --reset --seed 7                  # replace the demo data

The same `--seed` and `--as-of` give the same rows. On PostgreSQL the sales, lines and
payments go in with COPY (a million sales in well under three minutes on two cores);
elsewhere with bulk_create. How the data is made: merchants/demo_data/ (its __init__ says
where each piece lives).
"""

from datetime import date, datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import ProtectedError, RestrictedError

from merchants.demo_data import JAKARTA, DemoSeeder, ensure_demo_users, reset_demo_data
from merchants.models import Merchant


class Command(BaseCommand):
    help = "Fill the JUNOPOS tables with deterministic Indonesian demo data and create the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--merchants", type=int, default=12, help="number of merchants (default 12)")
        parser.add_argument(
            "--sales-per-merchant", type=int, default=200, help="sales per merchant (default 200)"
        )
        parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="the day the data ends, YYYY-MM-DD (default: today in Asia/Jakarta); with --seed, "
            "makes runs on different days identical",
        )
        parser.add_argument("--if-empty", action="store_true", help="do nothing if any merchant exists")
        parser.add_argument("--reset", action="store_true", help="delete the existing demo data first")
        parser.add_argument(
            "--chunk-size", type=int, default=20_000, help="sales generated and written per chunk (default 20000)"
        )
        parser.add_argument(
            "--bulk-create",
            action="store_true",
            help="write with bulk_create even on PostgreSQL (the path SQLite takes; slower)",
        )

    def handle(self, *args, **options):
        if options["if_empty"] and options["reset"]:
            raise CommandError("--if-empty and --reset contradict each other.")
        if options["merchants"] < 1 or options["sales_per_merchant"] < 0:
            raise CommandError("--merchants must be at least 1 and --sales-per-merchant at least 0.")
        if Merchant.objects.exists():
            if options["if_empty"]:
                self.stdout.write("seed_demo: merchants already exist, nothing to do (--if-empty).")
                return
            if not options["reset"]:
                raise CommandError("Merchants already exist: use --reset to replace them or --if-empty to skip.")
        verbose = options["verbosity"] >= 1
        if options["reset"]:
            try:
                reset_demo_data()
            except (ProtectedError, RestrictedError) as exc:
                protected = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", ())
                blockers = sorted({obj._meta.label for obj in protected})
                raise CommandError(
                    "Cannot reset: rows elsewhere protect the demo merchants "
                    f"({', '.join(blockers) or exc}); delete those first."
                ) from exc
            if verbose:
                self.stdout.write("Existing demo data deleted.")
        as_of = options["as_of"] or datetime.now(JAKARTA).date()
        seeder = DemoSeeder(
            merchants=options["merchants"],
            sales_per_merchant=options["sales_per_merchant"],
            seed=options["seed"],
            as_of=as_of,
            chunk_size=options["chunk_size"],
            force_bulk_create=options["bulk_create"],
            progress=(lambda line: self.stdout.write(line)) if verbose else None,
        )
        if verbose:
            self.stdout.write(
                f"Seeding {options['merchants']} merchants x {options['sales_per_merchant']:,} sales "
                f"(seed {options['seed']}, as of {as_of}, {connection.vendor}, {seeder.writer.method})..."
            )
        result = seeder.run()
        logins = ensure_demo_users()
        if not verbose:
            return

        out = self.stdout.write
        rate = result.rows / result.seconds if result.seconds else 0
        bulk_rows = result.sessions + result.sales + result.lines + result.payments
        bulk_rate = bulk_rows / result.bulk_seconds if result.bulk_seconds else 0
        out(self.style.SUCCESS(
            f"Done in {result.seconds:.1f} s: {result.merchants} merchants, {result.outlets} outlets, "
            f"{result.staff} staff, {result.bank_accounts} bank accounts, {result.customers:,} loyalty customers, "
            f"{result.sessions:,} device sessions, {result.sales:,} sales, {result.lines:,} lines, "
            f"{result.payments:,} payments ({result.rows:,} rows, {rate:,.0f} rows/s; "
            f"bulk load {bulk_rows:,} rows in {result.bulk_seconds:.1f} s, {bulk_rate:,.0f} rows/s, "
            f"{result.method})."
        ))
        for state in ("active", "recently", "long ago"):
            names = result.churn.get(state, [])
            label = {"active": "Active", "recently": "Churned recently", "long ago": "Churned long ago"}[state]
            out(f"{label} ({len(names)}): {', '.join(names[:6])}{' ...' if len(names) > 6 else ''}")
        if result.cross_people:
            out("")
            out("People who appear in several places (try looking them up by phone or e-mail):")
            for person in result.cross_people:
                out(f"  {person.person.name}")
                out(f"    phone written as: {', '.join(person.spellings)}")
                if person.emails:
                    out(f"    e-mail written as: {', '.join(person.emails)}")
                for place in person.places:
                    out(f"    - {place}")
        out("")
        out("Demo logins (admin at /admin/):")
        for username, password, role in logins:
            out(f"  {username:<8} / {password:<20} {role}")
