from django.core.management.base import BaseCommand, CommandError

from retention.exceptions import RetentionError
from retention.models import ChurnEvent
from retention.services import merchant_reactivate


class Command(BaseCommand):
    help = "Record that a churned merchant came back: its scheduled purge is cancelled."

    def add_arguments(self, parser):
        parser.add_argument("merchant", type=int)

    def handle(self, *args, merchant, **options):
        try:
            schedule = merchant_reactivate(merchant_id=merchant, source=ChurnEvent.Source.COMMAND)
        except RetentionError as exc:
            raise CommandError(exc.message) from None
        state = schedule.get_state_display() if schedule else "no purge was scheduled"
        self.stdout.write(f"merchant {merchant}: active again ({state})")
