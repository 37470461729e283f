"""A throw-away PostgreSQL cluster's first steps, shared by its two users.

* the tests' server (:mod:`tests.support.postgres`: ``pg_ctl start``/``stop`` on a free port, a scram password);
* the Celery topology's metadata DB (:mod:`scripts.stack.celery`: ``postgres`` run as a launcher Component).

Both need Debian's server binaries (:func:`find_bindir`, the ``postgresql`` package that
``scripts/setup.sh full`` installs), a cluster directory the server's OS user owns (:func:`server_owned_dir`),
and ``initdb`` (:func:`initdb`: trust, or a password checked with ``scram-sha-256`` on TCP).

``initdb`` and the server refuse to run as root, so as root every server command runs as the
:data:`OS_USER` (``postgres``) through :func:`as_server_user`, which uses ``setpriv`` (util-linux): it
sets the uid, gid and groups and then *execs* the command. The process that ``Popen`` started is the
server itself: same pid, same process group and session, so the launcher's ``os.killpg`` SIGTERM
(:meth:`scripts.stack.processes.Processes.stop`) reaches the postmaster directly and its exit code is
the server's. ``runuser`` is not used: it opens a PAM session and stays as a parent of a forked child,
answers a SIGTERM by sending its own SIGTERM and, two seconds later, SIGKILL to the server, and the
pid the launcher watches is the wrapper's. As any other user the commands run unchanged.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

#: Where Debian installs each major version's server binaries.
BIN_GLOB = "/usr/lib/postgresql/*/bin"
#: The tools a bin directory must hold to count.
SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
#: The OS user the server runs as when we are root (created by Debian's ``postgresql`` package).
OS_USER = "postgres"
SETUP_HINT = "run scripts/setup.sh full (installs the Debian package 'postgresql')"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be found, prepared or started; the message says what to do."""


def find_bindir(pattern: str | None = None) -> Path:
    """The newest (highest major) ``/usr/lib/postgresql/<major>/bin`` holding :data:`SERVER_TOOLS`.

    :param pattern: the glob to search (default :data:`BIN_GLOB`, read at call time).
    :raises PostgresUnavailable: none found (message: run ``scripts/setup.sh full``).
    """
    pattern = pattern or BIN_GLOB
    candidates = []
    for path in glob.glob(pattern):
        major = re.search(r"/(\d+)/bin$", path)
        if major and all(os.access(os.path.join(path, tool), os.X_OK) for tool in SERVER_TOOLS):
            candidates.append((int(major.group(1)), Path(path)))
    if not candidates:
        raise PostgresUnavailable(
            f"PostgreSQL server binaries not found ({pattern}/{', '.join(SERVER_TOOLS)}): {SETUP_HINT}"
        )
    return max(candidates)[1]


def as_server_user(argv: Sequence[str]) -> list[str]:
    """``argv`` run as :data:`OS_USER` when we are root (``setpriv`` execs it, see the module's docstring).

    :raises PostgresUnavailable: root, but ``setpriv`` is missing.
    """
    if os.geteuid() != 0:
        return list(argv)
    if shutil.which("setpriv") is None:
        raise PostgresUnavailable(f"running as root but 'setpriv' (util-linux) is missing; cannot run {argv[0]} "
                                  f"as user {OS_USER}: {SETUP_HINT}")
    return ["setpriv", f"--reuid={OS_USER}", f"--regid={OS_USER}", "--init-groups", "--", *argv]


def run_as_server_user(argv: Sequence[str], what: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``argv`` (through :func:`as_server_user`), output captured.

    :raises PostgresUnavailable: it exited non-zero (``what``, the exit code and its output in the message).
    """
    proc = subprocess.run(as_server_user(argv), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        output = proc.stderr.strip() or proc.stdout.strip()
        raise PostgresUnavailable(f"{what} failed (exit {proc.returncode}): {output}")
    return proc


def server_owned_dir(path: Path | None = None, prefix: str = "airflow-export-pg-") -> Path:
    """Create directory ``path`` (a fresh temporary one named ``<prefix>...`` if None), mode 0700,
    owned by :data:`OS_USER` when we are root.

    :raises PostgresUnavailable: root, and the OS user is missing (the directory is removed again).
    """
    if path is None:
        path = Path(tempfile.mkdtemp(prefix=prefix))
    else:
        path.mkdir(mode=0o700)
    if os.geteuid() == 0:
        try:
            entry = pwd.getpwnam(OS_USER)
        except KeyError:
            shutil.rmtree(path, ignore_errors=True)
            raise PostgresUnavailable(f"OS user {OS_USER!r} is missing: {SETUP_HINT}") from None
        os.chown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(path, 0o700)
    return path


def initdb(bindir: Path, datadir: Path, user: str, password: str | None = None, timeout: float = 120) -> None:
    """``initdb`` a new cluster in ``datadir`` (its parent is a :func:`server_owned_dir`) as the server's user.

    UTF8, locale C, no fsync while creating it. The database superuser is ``user``.

    :param password: None: every connection is trusted (``--auth=trust``). Else the superuser's password,
        checked with ``scram-sha-256`` on TCP connections; Unix-socket connections are trusted. It is passed
        in a file next to ``datadir`` that is removed afterwards, never on a command line.
    :raises PostgresUnavailable: initdb failed (its output in the message).
    """
    argv = [str(bindir / "initdb"), "-D", str(datadir), "-U", user, "-E", "UTF8", "--locale=C", "--no-sync",
            "--no-instructions"]
    if password is None:
        run_as_server_user([*argv, "--auth=trust"], "initdb", timeout)
        return
    pwfile = datadir.parent / f"{datadir.name}.pwfile"
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(password + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, user=OS_USER)
        run_as_server_user([*argv, f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=trust"],
                           "initdb", timeout)
    finally:
        pwfile.unlink(missing_ok=True)
