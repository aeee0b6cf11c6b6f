"""`manage.py forum_recount`: put every denormalised forum value right from the source rows."""

from django.core.management.base import BaseCommand

from hub.forum.services.recount import BATCH_SIZE, RECOUNT_STEPS, forum_recount

SHOWN_IDS = 20  # ids listed per value; the count is always complete


class Command(BaseCommand):
    help = (
        "Recompute the forum's denormalised values from the rows, in batches, and print what "
        "changed: question and answer scores (sum of votes), questions' answer counts (answers "
        "not hidden, the bot's diagnosis posts included), rendered bodies of questions, answers "
        "and comments, question excerpts, and search vectors (PostgreSQL). Idempotent: a second "
        "run changes nothing. Reputation is not recounted: it never falls below the starting "
        "value, so it depends on the order votes came in, and some comes from no row (seeded or "
        "set by staff)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--only",
            action="append",
            choices=list(RECOUNT_STEPS),
            help="recount only this (repeatable); default: everything",
        )
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args, only=None, batch_size: int = BATCH_SIZE, verbosity: int = 1, **options):
        results = forum_recount(steps=only or tuple(RECOUNT_STEPS), batch_size=batch_size)
        if not verbosity:
            return
        for result in results:
            line = f"{result.label}: {len(result.ids)} changed"
            if result.ids:
                shown = ", ".join(str(pk) for pk in result.ids[:SHOWN_IDS])
                more = " …" if len(result.ids) > SHOWN_IDS else ""
                line += f" (ids {shown}{more})"
            self.stdout.write(line)
        total = sum(len(result.ids) for result in results)
        self.stdout.write(f"Rows changed: {total}.")
