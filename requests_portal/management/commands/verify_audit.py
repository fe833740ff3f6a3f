import json as jsonlib

from django.core.management.base import BaseCommand

from requests_portal.audit import audit_verify


class Command(BaseCommand):
    help = (
        "Walk the audit trail of every request (each request's hash chain and the global chain of "
        "anchors) and name the first break: a removed, reordered or edited event. Exit status 1 "
        "when the trail is broken."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, json: bool = False, **options):
        report = audit_verify()
        if json:
            self.stdout.write(_dumps({
                "intact": report.intact, "events": report.events, "anchors": report.anchors,
                "unanchored": report.unanchored,
                "first_break": str(report.first_break) if report.first_break else None,
            }))
        elif report.intact:
            self.stdout.write(self.style.SUCCESS(
                f"Audit trail intact: {report.events} events of {report.requests} requests, "
                f"{report.anchors} anchors; {report.unanchored} events wait for the next anchor."
            ))
        else:
            self.stderr.write(self.style.ERROR(f"Audit trail BROKEN at {report.first_break}"))
        if not report.intact:
            raise SystemExit(1)


def _dumps(data) -> str:
    return jsonlib.dumps(data, ensure_ascii=False)
