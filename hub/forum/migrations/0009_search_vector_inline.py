"""Keep each question's search vector in its row (STORAGE MAIN) instead of the TOAST table.

A row with its body, its HTML and its plain text outgrows PostgreSQL's 2 kB threshold, and the
vector (which compresses badly) was moved out of line: ranking the 834 matches of a common
search fetched each from the TOAST table, 16 ms of the query's 16.5 ms at 10k questions.
Inline, ranking them takes 2 ms; the bodies go out of line instead (the lists defer them).
The update rewrites the stored vectors, which only a new value places by the new rule.
"""

from django.db import migrations

FORWARD = [
    "ALTER TABLE forum_question ALTER COLUMN search_vector SET STORAGE MAIN",
    "UPDATE forum_question SET search_vector = search_vector || ''::tsvector"
    " WHERE search_vector IS NOT NULL",
]
BACKWARD = ["ALTER TABLE forum_question ALTER COLUMN search_vector SET STORAGE EXTENDED"]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("forum", "0008_remove_question_render_version")]

    operations = [migrations.RunPython(forward, backward)]
