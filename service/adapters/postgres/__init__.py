"""PostgreSQL adapter: connection pools and versioned migrations."""
from .migrations import migrate
from .pool import make_pool

__all__ = ["make_pool", "migrate"]
