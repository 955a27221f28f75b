"""PostgreSQL adapter: connection pools and versioned migrations."""
from .migrations import MigrationError, migrate
from .pool import make_pool

__all__ = ["MigrationError", "make_pool", "migrate"]
