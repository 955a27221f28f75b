"""The consumer worker's steps, each replaceable and tested on its own: decoding a record
(`decoding`), collecting a batch and what follows from its apply (`batch`). The worker
(`entrypoints/worker.py`) runs them: poll -> decode -> batch -> apply -> commit."""
