"""The API's health endpoints over HTTP, for `enrolment status`."""
from __future__ import annotations

import requests

from ..service_layer.unavailable import Unreachable


class ApiHealth:
    def __init__(self, base_url: str, timeout_s: float):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def check(self) -> tuple[bool, bool, dict[str, bool]]:
        """(/healthz answers 200, /readyz answers 200, readyz's checks); Unreachable when either
        does not answer."""
        try:
            up = requests.get(f"{self.base_url}/healthz", timeout=self.timeout_s).status_code == 200
            ready = requests.get(f"{self.base_url}/readyz", timeout=self.timeout_s)
            json = ready.headers.get("content-type", "").startswith("application/json")
            checks = ready.json().get("checks", {}) if json else {}
        except requests.RequestException as exc:
            raise Unreachable(f"API {self.base_url}: {type(exc).__name__}") from exc
        return up, ready.status_code == 200, checks
