"""A throwaway PostgreSQL cluster for tests.

Why: the metadata store must work on PostgreSQL as well as SQLite, and a test that silently skips when no
server is around proves nothing. So tests start their own cluster from the locally installed server binaries
(``scripts/test.sh`` installs them): a fresh ``initdb`` in a temp dir, a free port on 127.0.0.1 only, trust
auth, ``fsync=off``, and everything stopped and deleted on exit. If it cannot start, it raises with the server
log tail instead of skipping. ``initdb`` and ``postgres`` refuse to run as root, so as root the server runs as
an unprivileged OS user (``postgres``, else a created ``conveyor-pg`` system user, else ``nobody``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["postgres_server"]

_SUPERUSER = "postgres"
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
}


def _find_bindir() -> Path:
    """The directory holding ``pg_ctl`` and ``initdb``: PATH first, else the newest /usr/lib/postgresql."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        # Resolve symlinks (e.g. /usr/local/bin/pg_ctl): pg_ctl finds `postgres` next to its real path.
        return Path(on_path).resolve().parent
    candidates = [Path(d) for d in glob.glob("/usr/lib/postgresql/*/bin") if (Path(d) / "pg_ctl").exists()]
    candidates.sort(key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else -1)
    if not candidates:
        raise RuntimeError("no PostgreSQL server binaries (pg_ctl) found; scripts/test.sh installs them")
    return candidates[-1]


def _server_user() -> str | None:
    """The OS user to run the server as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in (_SUPERUSER, "conveyor-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    created = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "conveyor-pg"],
        capture_output=True,
        text=True,
    )
    return "conveyor-pg" if created.returncode == 0 else "nobody"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(user: str | None, argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    if user is not None:
        argv = ["runuser", "-u", user, "--", *argv]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    # cwd: the server user may not be able to enter ours (e.g. /root), which initdb complains about.
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a throwaway cluster; yield ``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres``."""
    bindir = _find_bindir()
    user = _server_user()
    # As root, a dir under /tmp (world-traversable) so the server user can reach it; TMPDIR may not be.
    base = Path(tempfile.mkdtemp(prefix="conveyor-pg-", dir="/tmp" if user else None))
    data, log = base / "data", base / "server.log"
    try:
        os.chmod(base, 0o755)
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(base, entry.pw_uid, entry.pw_gid)
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", _SUPERUSER, "--auth=trust"]
        done = _run(user, [*initdb, "-E", "UTF8", "--locale=C", "--no-sync"], base)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed (as {user or 'self'}):\n{done.stdout}\n{done.stderr}")
        settings = {**_SETTINGS, "unix_socket_directories": f"'{base}'"}
        with open(data / "postgresql.conf", "a") as conf:
            conf.write("\n# conveyor.testing.postgres\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        pg_ctl = str(bindir / "pg_ctl")
        try:
            for attempt in range(3):  # the free port can be taken between probing and binding: retry
                port = _free_port()
                start = ["-l", str(log), "-w", "-t", "60", "-o", f"-p {port}", "start"]
                done = _run(user, [pg_ctl, "-D", str(data), *start], base)
                if done.returncode == 0:
                    break
                if attempt == 2 or "already in use" not in _tail(log, 10):
                    raise RuntimeError(
                        f"PostgreSQL did not start (as {user or 'self'}, port {port}):\n"
                        f"{done.stdout}\n{done.stderr}\n--- server log tail ---\n{_tail(log)}"
                    )
            yield f"postgresql+psycopg://{_SUPERUSER}@127.0.0.1:{port}/postgres"
        finally:
            _run(user, [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
