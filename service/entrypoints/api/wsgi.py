"""The WSGI app gunicorn serves: `service.entrypoints.api.wsgi:app`.

gunicorn_conf does not preload, so each worker imports this module after the fork: the app,
its pool and its producer all belong to that worker (kafka-python's producer threads do not survive a fork).
"""
from ...bootstrap import build_api
from ...config import Settings

app = build_api(Settings.from_env())
