"""HTTP client for the ingestion API as an agent app uses it (the simulator's and the demo
loader's `AgentClient`).

One `AgentApiClient` per thread: it keeps a keep-alive `requests.Session`. `send()` posts one
event or a batch and returns an `RequestOutcome` with the status, the latency and, for rejected
events, the rule each broke (the field path the API's error names).
"""
from __future__ import annotations

import time
import requests

from ..service_layer.simulation import RequestOutcome

EVENTS_PATH = "/v1/events"
BATCH_PATH = "/v1/events/batch"


def error_rules(errors) -> list[str]:
    """One `field: rule` label per violation in a problem+json `errors` list.

    The API answers `{"errors": [{"field": "participant.personal_id", "rule": "format",
    "message": …}]}` (RFC 9457 problem details, see the ingestion API's problems module).
    """
    out: list[str] = []
    for item in errors or []:
        if isinstance(item, dict):
            field_ = item.get("field") or "body"
            out.append(f"{field_}: {item.get('rule') or 'invalid'}")
    return out


def _event_rule(result: dict) -> str:
    rules = error_rules(result.get("errors"))
    return ", ".join(sorted(set(rules))) if rules else str(result.get("title") or "unknown")


class AgentApiClient:
    def __init__(self, base_url: str, timeout_s: float = 10.0):
        self._base = base_url.rstrip("/")
        self._timeout = timeout_s
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def send(self, token: str, events: list[dict], batch: bool) -> RequestOutcome:
        headers = {"Authorization": f"Bearer {token}"}
        url = self._base + (BATCH_PATH if batch else EVENTS_PATH)
        body = {"events": events} if batch else events[0]
        started = time.perf_counter()
        try:
            response = self._session.post(url, json=body, headers=headers, timeout=self._timeout)
        except requests.RequestException as exc:
            return RequestOutcome(0, time.perf_counter() - started, error=type(exc).__name__)
        latency = time.perf_counter() - started
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        return self._outcome(response.status_code, latency, payload, len(events), batch)

    @staticmethod
    def _outcome(status: int, latency: float, payload, sent: int, batch: bool) -> RequestOutcome:
        outcome = RequestOutcome(status, latency)
        if status in (401, 413, 429) or status >= 500:
            outcome.error = str(payload.get("title", "")) if isinstance(payload, dict) else ""
            return outcome
        if batch and isinstance(payload, dict) and isinstance(payload.get("results"), list):
            for result in payload["results"]:
                state = str(result.get("status", ""))
                if state == "accepted":
                    outcome.accepted += 1
                elif state == "duplicate":
                    outcome.duplicates += 1
                else:
                    outcome.rejected_rules.append(_event_rule(result))
            return outcome
        if 200 <= status < 300:
            if isinstance(payload, dict) and payload.get("status") == "duplicate":
                outcome.duplicates = sent
            else:
                outcome.accepted = sent
            return outcome
        # A whole request refused as invalid (a single event, or a batch the API rejects whole).
        rules = error_rules(payload.get("errors")) if isinstance(payload, dict) else []
        outcome.rejected_rules = [", ".join(sorted(set(rules))) or f"http_{status}"] * (1 if not batch else sent)
        return outcome
