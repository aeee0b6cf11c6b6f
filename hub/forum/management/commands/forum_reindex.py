"""`manage.py forum_reindex`: rebuild search vectors and excerpts, e.g. after a bulk load."""

from django.core.management.base import BaseCommand

from hub.forum import services
from hub.forum.models import EXCERPT_MAX_LENGTH, Question
from hub.glossary.markdown import html_excerpt


class Command(BaseCommand):
    help = "Rebuild the forum's search vectors (PostgreSQL) and missing list excerpts."

    def handle(self, *args, verbosity: int = 1, **options):
        indexed = services.questions_search_reindex()
        excerpts = 0
        for question in Question.objects.filter(excerpt="").only("pk", "body_html").iterator():
            services.question_render_bump(  # the list rows show the excerpt
                question_id=question.pk,
                excerpt=html_excerpt(question.body_html, max_length=EXCERPT_MAX_LENGTH),
            )
            excerpts += 1
        if verbosity:
            self.stdout.write(f"Search vectors rebuilt: {indexed}. Excerpts filled: {excerpts}.")
