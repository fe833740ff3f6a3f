from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from merchants.models import Merchant
from retention.engine import Erasure, Scope, total_rows
from retention.models import PurgeSchedule
from retention.selectors import churn_unscheduled, purge_stop_reason, runs_stalled, schedules_due
from retention.services import churn_detect, merchant_purge, merchant_purge_dry_run, purge_warnings_send


class Command(BaseCommand):
    help = (
        "Purge churned merchants that are due (what the daily Celery plan does), in this process, "
        "with a progress bar. --dry-run prints the counts and changes nothing; it sees what the run "
        "would see, churn not yet noticed included."
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
            warned = purge_warnings_send(now=now)
            if warned:
                self.stdout.write(f"sent {warned} purge warning(s)")
        if merchant is not None:
            schedules = self._one(merchant, now=now, dry_run=dry_run)
        else:
            stalled = PurgeSchedule.objects.filter(
                state=PurgeSchedule.State.PURGING, merchant_id__in=runs_stalled(now=now).values("merchant_ref")
            )
            schedules = list(schedules_due(now=now).select_related("merchant")) + list(stalled)
            if dry_run:
                for merchant_id in churn_unscheduled(now=now).values_list("pk", flat=True):
                    self.stdout.write(
                        f"merchant {merchant_id}: churn not yet noticed; the run schedules it and warns first"
                    )
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

    def _one(self, merchant_id: int, *, now, dry_run: bool) -> list:
        schedule = PurgeSchedule.objects.filter(merchant_id=merchant_id).first()
        if schedule is None:
            churned = Merchant.objects.filter(pk=merchant_id).values_list("churned_at", flat=True).first()
            if churned is None:
                raise CommandError(f"Merchant {merchant_id} has not churned: nothing is scheduled.")
            # The run would notice this churn now and schedule it; its warnings come first.
            self.stdout.write(
                f"merchant {merchant_id}: churned {timezone.localtime(churned):%Y-%m-%d %H:%M}, not yet noticed; "
                "the run schedules it now and purges only after its warnings"
            )
            if dry_run:
                run = merchant_purge_dry_run(merchant_id=merchant_id)
                self._report(merchant_id, run.counts, "dry run (nothing changed)")
            return []
        if schedule.state == PurgeSchedule.State.PURGED:
            raise CommandError(
                f"Merchant {merchant_id} was already purged on {timezone.localtime(schedule.purged_at):%Y-%m-%d %H:%M}."
            )
        reason = purge_stop_reason(schedule_id=schedule.pk, now=now)
        if reason:
            if not dry_run:
                raise CommandError(f"Merchant {merchant_id} is not purged: {reason}")
            self.stdout.write(f"merchant {merchant_id}: the run would not purge it now: {reason}")
        return [schedule]

    def _report(self, merchant_id, counts, what):
        self.stdout.write(f"merchant {merchant_id}: {what}")
        for table in sorted(counts):
            for action, n in sorted(counts[table].items()):
                self.stdout.write(f"  {table:45} {action:11} {n:>10}")
