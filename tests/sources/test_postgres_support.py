"""The test PostgreSQL helper itself: fails clearly without binaries, always stops the server."""

from __future__ import annotations

import psycopg
import pytest

from scripts.stack import postgres as pgstart
from tests.support import postgres as support
from tests.support.stack import process_running


def test_missing_binaries_fail_with_the_setup_hint(monkeypatch, tmp_path):
    monkeypatch.setattr(pgstart, "BIN_GLOB", str(tmp_path / "no-postgresql" / "*" / "bin"))
    with pytest.raises(support.PostgresUnavailable) as caught:
        support.find_bindir()
    assert "run scripts/setup.sh full" in str(caught.value)
    with pytest.raises(support.PostgresUnavailable, match="run scripts/setup.sh"), support.running_postgres():
        pass


@pytest.mark.services
def test_server_is_stopped_and_removed_even_when_the_body_fails():
    with pytest.raises(ZeroDivisionError), support.running_postgres() as server:
        with psycopg.connect(server.dsn) as conn:
            assert conn.execute("SELECT current_user, current_database(), inet_server_port()").fetchone() == (
                support.USER, support.DBNAME, server.port)
        pid = int((server.datadir / "postmaster.pid").read_text().split()[0])
        raise ZeroDivisionError("the body fails")
    assert not server.socket_dir.exists()
    assert not process_running(pid)
    with pytest.raises(psycopg.OperationalError, match="Connection refused"):
        psycopg.connect(server.dsn, connect_timeout=5)


def test_fixture_server_wants_the_password_and_is_an_airflow_connection(postgres):
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection("pg_test")
    assert (conn.conn_type, conn.host, conn.port, conn.login, conn.password, conn.schema) == (
        "postgres", "127.0.0.1", postgres.port, support.USER, support.PASSWORD, support.DBNAME)
    wrong = postgres.dsn.replace(support.PASSWORD, "wrong-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong)
