from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from retention.exceptions import RetentionError
from retention.models import ChurnEvent
from retention.services import merchant_churn


class Command(BaseCommand):
    help = "Record that a merchant's JUNOPOS subscription ended; its purge is scheduled after the grace period."

    def add_arguments(self, parser):
        parser.add_argument("merchant", type=int)
        parser.add_argument("--at", help="when it ended (ISO 8601, default now; naive times are Asia/Jakarta)")

    def handle(self, *args, merchant, at, **options):
        churned_at = None
        if at:
            churned_at = parse_datetime(at)
            if churned_at is None:
                raise CommandError(f"Not a date and time: {at!r} (use e.g. 2026-11-01T09:00).")
            if timezone.is_naive(churned_at):
                churned_at = timezone.make_aware(churned_at)
        try:
            schedule = merchant_churn(merchant_id=merchant, churned_at=churned_at, source=ChurnEvent.Source.COMMAND)
        except RetentionError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"merchant {merchant}: purge due {timezone.localtime(schedule.due_at):%Y-%m-%d %H:%M %Z}")
