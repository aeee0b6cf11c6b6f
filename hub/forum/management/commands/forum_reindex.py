"""`manage.py forum_reindex`: rebuild search vectors and excerpts, e.g. after a bulk load.

The search and excerpt steps of forum_recount, which does everything else too."""

from django.core.management.base import BaseCommand

from hub.forum.services.recount import forum_recount


class Command(BaseCommand):
    help = "Rebuild the forum's search vectors (PostgreSQL) and list excerpts where they differ."

    def handle(self, *args, verbosity: int = 1, **options):
        changed = {r.label: len(r.ids) for r in forum_recount(steps=("excerpts", "search"))}
        if verbosity:
            self.stdout.write(
                f"Search vectors rebuilt: {changed.get('question search vectors', 0)}. "
                f"Excerpts filled: {changed.get('question excerpts', 0)}."
            )
