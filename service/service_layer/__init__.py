"""Use cases: what the entrypoints (API, worker, CLI) ask for, with their collaborators passed in."""
