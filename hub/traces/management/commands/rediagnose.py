"""Re-run the diagnosis after an engine change; bot posts are edited in place (with a revision)."""

from django.core.management.base import BaseCommand, CommandError

from hub.traces.diagnosis import trace_diagnose
from hub.traces.models import Trace


class Command(BaseCommand):
    help = "Re-diagnose traces with the current engine and update their bot posts in place."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="every trace that was diagnosed")
        which.add_argument("--trace", type=int, metavar="ID", help="one trace by id")

    def handle(self, *args, **options):
        if options["trace"] is not None:
            if not Trace.objects.filter(pk=options["trace"]).exists():
                raise CommandError(f"No trace with id {options['trace']}.")
            ids = [options["trace"]]
        else:
            ids = list(
                Trace.objects.filter(state=Trace.State.DIAGNOSED)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        done = failed = 0
        for trace_id in ids:
            diagnosis = trace_diagnose(trace_id=trace_id, force=True)
            trace = Trace.objects.get(pk=trace_id)
            if diagnosis is None:
                failed += 1
                self.stderr.write(f"trace {trace_id}: {trace.state}: {trace.failure_reason}")
            else:
                done += 1
                self.stdout.write(f"trace {trace_id}: {diagnosis.summary}")
        self.stdout.write(self.style.SUCCESS(f"{done} re-diagnosed, {failed} failed."))
        if failed and options["trace"] is not None:
            raise CommandError("The trace could not be diagnosed.")
