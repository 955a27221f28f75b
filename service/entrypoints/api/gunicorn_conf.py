"""gunicorn settings of the API: `gunicorn -c python:service.entrypoints.api.gunicorn_conf
service.entrypoints.api.wsgi:app`, with the environment of `Settings.to_env()`.

gevent workers: every event request waits for the broker's acknowledgement, and a gevent
worker serves its other connections meanwhile, on one OS thread. With gthread the same waits
cost ~3x the CPU per request in GIL hand-offs between request threads, kafka-python's sender
thread and the acceptor (docs/ingestion.md, "Serving"). gunicorn applies gevent's monkey
patching in each worker before it loads the app; psycopg (>= 3.1.14) and kafka-python then
cooperate with it. `reuse_port`: one SO_REUSEPORT listener per worker, so the kernel spreads
connections evenly. No preload: each worker builds its own app, database pool and Kafka
producer after the fork (its threads do not survive one).
Prometheus multiprocess mode: a fresh directory per run, made before the workers fork
(the master never imports prometheus_client before that).
"""
import gc
import os
import shutil
import tempfile

from gunicorn.glogging import Logger

from service.config import Settings
from service.entrypoints.logs import configure_logging


class NoAccessLogLogger(Logger):
    """gunicorn's logger without its access log. The app logs each request itself (JSON,
    nothing personal); with `logconfig_dict` set gunicorn would otherwise build every
    request's access-log atoms (~20 µs of CPU) for a logger that has no handler."""

    access_log_enabled = False


_settings = Settings.from_env()
GC_YOUNG_THRESHOLD = 10_000

bind = [f"{_settings.api_host}:{_settings.api_port}"]
workers = _settings.web_workers
worker_class = "gevent"
worker_connections = _settings.web_connections
reuse_port = True
preload_app = False
keepalive = 5
graceful_timeout = 10
timeout = max(30, int(_settings.publish_timeout_s * 4))
accesslog = None  # the app logs each request as JSON (without anything personal)
logger_class = NoAccessLogLogger
loglevel = _settings.log_level.lower()
# gunicorn's own messages as JSON lines too: they go to the root logger's JSON handler.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "service.entrypoints.logs.JsonFormatter"}},
    "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": _settings.log_level.upper(), "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
}
proc_name = "enrolment-api"
# gunicorn's control socket has one default path per user: several instances on one machine
# (tests, benchmark, `enrolment run`) would fight over it, and nothing here uses it.
control_socket_disable = True


def on_starting(server):
    configure_logging(_settings.log_level)
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="enrolment-metrics-")
        server._metrics_dir_owned = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def post_worker_init(worker):
    configure_logging(_settings.log_level)
    # The app is loaded: keep its long-lived objects out of the collector's scans, and scan the
    # young generation less often (each request allocates a few hundred short-lived objects;
    # the default threshold of 700 made collection ~10 % of a worker's CPU).
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def child_exit(server, worker):
    # Imported here, not at the top: prometheus_client picks its value class at import, and
    # must see PROMETHEUS_MULTIPROC_DIR (set in on_starting) in every process.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    owned = getattr(server, "_metrics_dir_owned", None)
    if owned:
        shutil.rmtree(owned, ignore_errors=True)
