"""The app moved from `traces/` into `hub/traces/` without a schema change: a database migrated
before the move (migration rows labelled `traces`, tables `traces_*`) needs no migration."""

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# What databases migrated before the move hold in django_migrations for this app.
MIGRATIONS_BEFORE_THE_MOVE = {("traces", "0001_initial"), ("traces", "0002_diagnosis_plots_done")}
TABLES_BEFORE_THE_MOVE = {"traces_trace", "traces_diagnosis", "traces_finding"}


def test_the_app_keeps_its_label_and_tables():
    config = apps.get_app_config("traces")
    assert config.name == "hub.traces"
    tables = {model._meta.db_table for model in config.get_models()}
    assert TABLES_BEFORE_THE_MOVE <= tables  # kept; later tables (rank files) under the label
    assert all(table.startswith("traces_") for table in tables)


@pytest.mark.django_db
def test_a_database_migrated_before_the_move_has_nothing_left_to_migrate():
    executor = MigrationExecutor(connection)
    applied = set(executor.recorder.applied_migrations())
    assert MIGRATIONS_BEFORE_THE_MOVE <= applied
    traces_nodes = {node for node in executor.loader.graph.nodes if node[0] == "traces"}
    # Later schema changes (0003: rank files, 0004: the replay's fields) add nodes; the move itself added none.
    assert MIGRATIONS_BEFORE_THE_MOVE <= traces_nodes
    assert ("traces", "0004_diagnosis_replay") in traces_nodes
    leaves = executor.loader.graph.leaf_nodes()
    assert executor.migration_plan(leaves) == []


@pytest.mark.django_db
def test_the_models_match_their_migrations():
    call_command("makemigrations", "traces", "--check", "--dry-run", verbosity=0)
