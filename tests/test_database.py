from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.postgres
@pytest.mark.django_db
def test_database_postgres_pass_runs_on_postgresql():
    """The PostgreSQL pass really talks to PostgreSQL with every migration applied."""
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM django_migrations WHERE app = %s", ["auth"]
        )
        (applied,) = cursor.fetchone()
    assert applied > 0
