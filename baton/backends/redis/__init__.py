"""The Redis backend (`redis://host:port/db?prefix=baton:&retention=7d`); needs `baton[redis]`."""

from .backend import RedisBackend

__all__ = ["RedisBackend"]
