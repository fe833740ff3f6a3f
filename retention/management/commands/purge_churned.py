from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from retention.engine import Erasure, Scope, total_rows
from retention.models import PurgeSchedule
from retention.selectors import schedules_due, schedules_stalled
from retention.services import churn_detect, merchant_purge, merchant_purge_dry_run, purge_stop_reason


class Command(BaseCommand):
    help = (
        "Purge churned merchants that are due (what the daily Celery plan queues), in this process, "
        "with a progress bar. --dry-run prints the counts and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count what would be erased; change nothing")
        parser.add_argument("--merchant", type=int, help="only this merchant id")
        parser.add_argument("--batch-size", type=int, default=None)

    def handle(self, *args, dry_run, merchant, batch_size, verbosity, **options):
        now = timezone.now()
        if not dry_run:
            detected = churn_detect(now=now)
            if any(detected.values()):
                self.stdout.write(
                    f"noticed {detected['churned']} churned and {detected['reactivated']} reactivated merchant(s)"
                )
        if merchant is not None:
            schedule = PurgeSchedule.objects.filter(merchant_id=merchant).first()
            if schedule is None:
                raise CommandError(f"Merchant {merchant} has not churned: nothing is scheduled.")
            reason = purge_stop_reason(schedule_id=schedule.pk, now=now)
            if schedule.state == PurgeSchedule.State.PURGED:
                raise CommandError(f"Merchant {merchant} was already purged on {timezone.localtime(schedule.purged_at):%Y-%m-%d %H:%M}.")
            if reason and not dry_run:
                raise CommandError(f"Merchant {merchant} is not purged: {reason}")
            schedules = [schedule]
        else:
            schedules = list(schedules_due(now=now).select_related("merchant")) + list(schedules_stalled(now=now))
        if not schedules:
            self.stdout.write("Tidak ada merchant yang jatuh tempo. / No merchant is due.")
            return
        for schedule in schedules:
            if dry_run:
                run = merchant_purge_dry_run(merchant_id=schedule.merchant_id)
                self._report(schedule.merchant_id, run.counts, "dry run (nothing changed)")
                continue
            total = total_rows(Erasure(Scope.merchant(schedule.merchant_id)).count())
            with tqdm(total=total, unit="row", desc=f"merchant {schedule.merchant_id}", disable=verbosity == 0) as bar:
                run = merchant_purge(schedule_id=schedule.pk, batch_size=batch_size, on_progress=bar.update)
            if run is None:
                self.stderr.write(f"merchant {schedule.merchant_id}: another worker is purging it; skipped")
                continue
            self._report(schedule.merchant_id, run.counts, f"run #{run.pk} {run.state} {run.stop_reason}".strip())

    def _report(self, merchant_id, counts, what):
        self.stdout.write(f"merchant {merchant_id}: {what}")
        for table in sorted(counts):
            for action, n in sorted(counts[table].items()):
                self.stdout.write(f"  {table:45} {action:11} {n:>10}")
