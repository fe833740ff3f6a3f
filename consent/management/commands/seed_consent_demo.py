"""manage.py seed_consent_demo: the demo recipient register, consent events, disclosures and API
client (run by scripts/run after seed_demo; nothing if the register has rows). Demo only."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from consent.demo import seed_consent_demo


class Command(BaseCommand):
    help = "Demo consent data: recipients, ledger events, disclosures, an API client (demo only)."

    def handle(self, *args, **options):
        result = seed_consent_demo()
        if not result.recipients:
            self.stdout.write("seed_consent_demo: the recipient register has rows already, nothing to do.")
            return
        self.stdout.write(self.style.SUCCESS(
            f"Consent demo: {result.recipients} recipients, {result.events} ledger events, "
            f"{result.disclosures} disclosures ({result.refused} refused)."
        ))
        if result.token:
            path = Path(settings.VAR_DIR) / "demo-api-token.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(result.token + "\n", encoding="utf-8")
            path.chmod(0o600)
            self.stdout.write(f"Demo API token (shown once; also in {path}): {result.token}")
