"""Prometheus metrics of the API. Under gunicorn, `PROMETHEUS_MULTIPROC_DIR` (set per run by
gunicorn_conf before workers fork) makes prometheus_client share values across workers."""
from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess

REQUESTS = Counter("enrolment_api_requests_total", "HTTP requests answered", ["endpoint", "method", "status"])
REQUEST_SECONDS = Histogram(
    "enrolment_api_request_seconds", "Time to answer a request", ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS = Counter("enrolment_api_events_total", "Events by outcome (accepted / rejected / unavailable)", ["outcome"])
REJECTIONS = Counter("enrolment_api_rejections_total", "Rejected events by violated rule", ["rule"])
PUBLISH_SECONDS = Histogram(
    "enrolment_api_publish_seconds", "From handing records to the producer to the broker's acknowledgement",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


_children: dict[tuple, tuple] = {}  # label values -> bound metrics (labels() costs on every call)


def request_done(endpoint: str, method: str, status: int, seconds: float) -> None:
    key = (endpoint, method, status)
    bound = _children.get(key)
    if bound is None:
        bound = _children.setdefault(key, (REQUESTS.labels(endpoint, method, str(status)),
                                           REQUEST_SECONDS.labels(endpoint)))
    bound[0].inc()
    bound[1].observe(seconds)


def exposition() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
