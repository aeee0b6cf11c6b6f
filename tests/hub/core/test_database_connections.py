"""Persistent database connections (CONN_MAX_AGE > 0) outlive a database restart: the first
request after PostgreSQL dropped a connection gets a new one instead of an error page.

Found by bench/load.py: with CONN_MAX_AGE=60, every web process answered 500 once after the
site's connections were terminated."""

import psycopg
import pytest
from django.db import close_old_connections, connection

from hub.forum.models import Question


def _terminate(backend_pid: int) -> None:
    """What a PostgreSQL restart or failover does to the site's connection."""
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
        dbname=db["NAME"], autocommit=True,
    ) as admin:  # fmt: skip
        admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid])


@pytest.mark.django_db(transaction=True)
def test_a_request_after_the_database_dropped_a_persistent_connection_gets_a_new_one(
    monkeypatch,
):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)  # as a deployment may set
    connection.close()
    close_old_connections()  # a request begins,
    assert Question.objects.count() == 0
    close_old_connections()  # ends, and leaves its connection open for the next one
    dropped = connection.connection.info.backend_pid
    _terminate(dropped)

    close_old_connections()  # the next request begins
    assert Question.objects.count() == 0
    assert connection.connection.info.backend_pid != dropped
    connection.close()
