"""Search that scales: each question's body as plain text (for snippets without Markdown or
LaTeX), and the table of search words with a trigram index (PostgreSQL) for typo-tolerant
search. Both are filled here for existing questions, as the write services fill them."""

import django.contrib.postgres.indexes
from django.db import migrations, models

from hub.forum.dbops import AddIndexIfPostgres

BATCH = 1000


def body_texts_fill(apps, schema_editor):
    # The function the write services use: a rename should fail here loudly, not drift.
    from hub.glossary.markdown import html_text

    Question = apps.get_model("forum", "Question")
    rows = Question.objects.filter(body_text="").only("pk", "body_html").order_by("pk")
    batch = []
    for question in rows.iterator(chunk_size=BATCH):
        question.body_text = html_text(question.body_html)
        batch.append(question)
        if len(batch) == BATCH:
            Question.objects.bulk_update(batch, ["body_text"])
            batch = []
    Question.objects.bulk_update(batch, ["body_text"])


def search_words_fill(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "INSERT INTO forum_searchword (word) SELECT DISTINCT w.word"
        " FROM forum_question q, unnest(tsvector_to_array(q.search_vector)) AS w(word)"
        " WHERE length(w.word) BETWEEN 3 AND 40 ON CONFLICT DO NOTHING"
    )


class Migration(migrations.Migration):
    dependencies = [("forum", "0006_answer_count_people_only")]

    operations = [
        migrations.AddField(
            model_name="question",
            name="body_text",
            field=models.TextField(blank=True),
        ),
        migrations.RunPython(body_texts_fill, migrations.RunPython.noop),
        migrations.CreateModel(
            name="SearchWord",
            fields=[("word", models.CharField(max_length=100, primary_key=True, serialize=False))],
        ),
        AddIndexIfPostgres(
            model_name="searchword",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["word"], name="forum_word_trgm", opclasses=["gin_trgm_ops"]
            ),
        ),
        migrations.RunPython(search_words_fill, migrations.RunPython.noop),
    ]
