"""The consumer worker's batch step, replaceable and tested on its own: collecting decoded
records and what follows from their apply (`batch`). The worker (`entrypoints/worker.py`) runs
poll -> decode (adapters/postgres/record_rows.py) -> batch -> apply (service_layer/applying.py)
-> commit."""
