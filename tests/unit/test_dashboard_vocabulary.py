"""The dashboard's lists of codes come from the server's one definition of each
(service/domain), served as /dashboard/vocabulary.js: the page's scripts re-type none of them
(i18n.js holds labels keyed by value; tests/operations/test_dashboard_browser.py checks that
every value served has a label in each language)."""
from __future__ import annotations

import json
import re

from flask import Flask

from service.domain.ageband import BANDS
from service.domain.model import Sex
from service.domain.reporting import MEASURES, PERIOD_TYPES, PRIMARY_MEASURE, REPORT_SCHEMES
from service.entrypoints.api import dashboard

SCRIPTS = sorted(dashboard.ASSETS.glob("*.js"))


def _served() -> tuple[dict, dict]:
    app = Flask(__name__)
    app.register_blueprint(dashboard.blp)
    response = app.test_client().get("/dashboard/vocabulary.js")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    match = re.fullmatch(r"const VOCABULARY = Object\.freeze\((.*)\);\n", body, re.DOTALL)
    assert match, body
    return json.loads(match.group(1)), dict(response.headers)


def test_vocabulary_is_the_domain_definitions():
    vocabulary, headers = _served()
    assert vocabulary == {
        "schemes": list(REPORT_SCHEMES), "periodTypes": list(PERIOD_TYPES), "primaryMeasure": PRIMARY_MEASURE,
        "sexes": [s.value for s in Sex] + ["unknown"], "ageBands": list(BANDS),
    }
    assert headers["Content-Type"].startswith("text/javascript")
    assert headers["Content-Security-Policy"] == dashboard.CSP and headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age=60" in headers["Cache-Control"]
    assert set(PRIMARY_MEASURE.values()) <= set(MEASURES)


def test_page_loads_the_vocabulary_before_the_scripts_that_read_it():
    html = (dashboard.ASSETS / "index.html").read_text(encoding="utf-8")
    sources = re.findall(r'<script src="([^"]+)"></script>', html)
    assert sources[0] == "vocabulary.js"
    assert set(sources[1:]) == {p.name for p in SCRIPTS}
    assert not (dashboard.ASSETS / "vocabulary.js").exists()  # served from the definitions only


def test_no_script_retypes_a_code_of_the_vocabulary():
    vocabulary, _ = _served()
    codes = set(vocabulary["schemes"]) | set(vocabulary["primaryMeasure"].values()) | set(
        vocabulary["sexes"]) | set(vocabulary["ageBands"])
    for script in SCRIPTS:
        if script.name == "i18n.js":  # labels keyed by value
            continue
        text = script.read_text(encoding="utf-8")
        retyped = {c for c in codes if re.search(rf"""["'`]{re.escape(c)}["'`]""", text)}
        assert not retyped, f"{script.name} re-types {sorted(retyped)}"
