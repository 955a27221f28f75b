"""The consumer worker's batch step, replaceable and tested on its own: decoded rows by store
beside their topic records, and the offsets to commit after their apply (`batch`). Which
records the apply refused is the use case's rule (`service_layer/applying.refused_letters`).
The worker (`entrypoints/worker.py`) runs poll -> decode (adapters/postgres/record_rows.py) -> batch -> apply (service_layer/applying.py)
-> commit."""
