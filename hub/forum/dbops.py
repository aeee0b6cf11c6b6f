"""Migration operations that only touch PostgreSQL (the embedded run migrates SQLite too)."""

from django.contrib.postgres.operations import TrigramExtension
from django.db.migrations import AddIndex


def _is_postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class TrigramExtensionIfPostgres(TrigramExtension):
    """CREATE EXTENSION pg_trgm on PostgreSQL; nothing elsewhere (either direction)."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if _is_postgres(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class AddIndexIfPostgres(AddIndex):
    """AddIndex for PostgreSQL-only index types (GIN); the model state is the same everywhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if _is_postgres(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if _is_postgres(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
