"""Question.answer_count now counts visible answers by people only: the Gradient Doctor's
diagnosis no longer makes a question "answered". Existing counts are recounted once (what
manage.py forum_recount would do)."""

from django.db import migrations
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def answer_counts_recount(apps, schema_editor):
    Answer = apps.get_model("forum", "Answer")
    Question = apps.get_model("forum", "Question")
    people = (
        Answer.objects.filter(question=OuterRef("pk"), is_hidden=False, is_automated=False)
        .values("question")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Question.objects.update(
        answer_count=Coalesce(Subquery(people, output_field=IntegerField()), Value(0))
    )


class Migration(migrations.Migration):
    dependencies = [("forum", "0005_tag_slug")]

    operations = [migrations.RunPython(answer_counts_recount, migrations.RunPython.noop)]
