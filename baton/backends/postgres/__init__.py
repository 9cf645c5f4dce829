"""The PostgreSQL backend (`postgresql://…`). Needs the `postgres` extra (psycopg 3)."""

from .backend import PostgresBackend

__all__ = ["PostgresBackend"]
