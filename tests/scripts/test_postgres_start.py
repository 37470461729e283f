"""The shared PostgreSQL first steps (scripts/stack/postgres.py): the newest bin directory, commands as the
server's OS user (one process, stoppable by the launcher's SIGTERM), initdb with trust or a password."""

from __future__ import annotations

import os
import pwd
import shutil
import stat

import pytest

from scripts.stack import postgres as pgstart
from scripts.stack.processes import Processes
from tests.support.stack import wait_until


def _fake_bindir(root, major: str, tools=pgstart.SERVER_TOOLS):
    bindir = root / major / "bin"
    bindir.mkdir(parents=True)
    for tool in tools:
        (bindir / tool).write_text("#!/bin/sh\n")
        (bindir / tool).chmod(0o755)
    return bindir


def test_the_newest_major_by_number_holding_every_server_tool(tmp_path):
    _fake_bindir(tmp_path, "9")
    newest = _fake_bindir(tmp_path, "15")
    _fake_bindir(tmp_path, "17", tools=("initdb", "pg_ctl"))  # a client-only leftover: no server
    assert pgstart.find_bindir(str(tmp_path / "*" / "bin")) == newest


def test_no_server_binaries_say_to_run_the_full_setup(tmp_path):
    _fake_bindir(tmp_path, "16", tools=("psql",))
    with pytest.raises(pgstart.PostgresUnavailable, match=r"run scripts/setup.sh full"):
        pgstart.find_bindir(str(tmp_path / "*" / "bin"))


def test_commands_change_user_only_as_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert pgstart.as_server_user(["initdb", "-D", "x"]) == ["initdb", "-D", "x"]
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert pgstart.as_server_user(["initdb", "-D", "x"]) == [
        "setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", "initdb", "-D", "x"]


def _server_user_uid() -> int:
    if os.geteuid() != 0:
        pytest.skip("commands change user only when the tests run as root")
    try:
        return pwd.getpwnam(pgstart.OS_USER).pw_uid
    except KeyError:
        pytest.skip(f"no OS user {pgstart.OS_USER!r} (scripts/setup.sh full)")


def test_a_component_as_the_server_user_is_one_process_that_the_launcher_stops(tmp_path):
    uid = _server_user_uid()
    processes = Processes(tmp_path / "logs")
    script = "trap 'exit 7' TERM; id -u; echo $$; while :; do sleep 0.1; done"
    proc = processes.start("pg", pgstart.as_server_user(["/bin/sh", "-c", script]), {"PATH": os.environ["PATH"]})
    try:
        wait_until(lambda: len(processes.log_tail("pg").split()) >= 2, timeout=10, what="the component's output",
                   interval=0.1)
        assert processes.log_tail("pg").split()[:2] == [str(uid), str(proc.pid)]  # no wrapper process between
        assert os.getpgid(proc.pid) == proc.pid
    finally:
        processes.stop(timeout=10)
    assert proc.returncode == 7  # its TERM trap ran: the launcher's SIGTERM reached it, no SIGKILL (-9)


@pytest.mark.services
@pytest.mark.parametrize("password", [None, "s3cret-for-initdb"])
def test_initdb_trusts_or_wants_the_password_on_tcp(password):
    uid = _server_user_uid() if os.geteuid() == 0 else os.geteuid()
    root = pgstart.server_owned_dir()
    try:
        assert stat.S_IMODE(root.stat().st_mode) == 0o700 and root.stat().st_uid == uid
        pgstart.initdb(pgstart.find_bindir(), root / "data", "someone", password=password)
        rules = [line.split() for line in (root / "data" / "pg_hba.conf").read_text().splitlines()
                 if line.strip() and not line.startswith("#")]
        methods = {rule[0]: rule[-1] for rule in rules}
        assert methods == ({"local": "trust", "host": "trust"} if password is None
                           else {"local": "trust", "host": "scram-sha-256"})
        assert sorted(p.name for p in root.iterdir()) == ["data"]  # the password file is gone
    finally:
        shutil.rmtree(root, ignore_errors=True)
