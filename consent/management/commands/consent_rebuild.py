"""Replay the consent ledger and compare it with the state table; `--fix` makes the table what the
ledger says. Exits 1 when they differ and nothing was mended (a cron job or a person notices)."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from tqdm import tqdm

from consent.models import ConsentEvent
from consent.services import consent_state_rebuild
from consent.services.ledger import REBUILD_CHUNK


class Command(BaseCommand):
    help = (
        "Rebuild the consent state from the ledger and report every difference (identifiers checked, "
        "missing, different and extra state rows, a few examples under a short hash). Without --fix "
        "nothing changes and a difference exits with status 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="write the state the ledger implies")
        parser.add_argument("--chunk", type=int, default=REBUILD_CHUNK, help="identifiers per chunk (one transaction each)")

    def handle(self, *args, fix, chunk, verbosity, **options):
        # The bar counts identifiers, as the rebuild walks them: distinct e-mails, then distinct phones.
        distinct = ConsentEvent.objects.exclude(email="").aggregate(n=Count("email", distinct=True))["n"]
        distinct += ConsentEvent.objects.exclude(phone="").aggregate(n=Count("phone", distinct=True))["n"]
        with tqdm(total=distinct, unit="identifier", desc="ledger", disable=verbosity == 0) as bar:
            report = consent_state_rebuild(fix=fix, chunk=chunk, progress=bar.update)

        self.stdout.write(f"identifiers checked: {report.identifiers}")
        self.stdout.write(f"missing state rows:  {report.missing}")
        self.stdout.write(f"different rows:      {report.different}")
        self.stdout.write(f"extra rows:          {report.extra}")
        for example in report.examples:
            self.stdout.write(f"  {example}")
        if report.clean:
            self.stdout.write(self.style.SUCCESS("The state equals the ledger."))
        elif fix:
            self.stdout.write(self.style.WARNING("Mended: the state now equals the ledger."))
        else:
            raise CommandError("The state differs from the ledger; run again with --fix to mend it.", returncode=1)
