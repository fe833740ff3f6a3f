"""Redis for the API's clients: one connection per process, and each client's change mark.

A process keeps the API clients it has read (consent/api/auth.py). When a client is revoked or
its token rotated, its change mark is written here; every process reads the mark in the same
round trip as the rate limit's count (consent/api/ratelimit.py) and reads the client again from
the database when it changed since.
"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

# Errors after which Redis is taken as down: the API lets the call through (and reads the database).
CACHE_DOWN = (redis.RedisError, ConnectionError, TimeoutError)
# What a read of a mark gives when Redis could not be asked: nothing is known.
UNKNOWN = object()
# A Redis that hangs must not hang the API: the call is let through after this.
REDIS_TIMEOUT = 0.25
# How long a client's change mark is kept: far longer than a process keeps a client (auth.CACHE_SECONDS).
CHANGE_MARK_SECONDS = 3600

_connections: dict[str, redis.Redis] = {}


def redis_client(url: str) -> redis.Redis:
    connection = _connections.get(url)
    if connection is None:
        connection = _connections[url] = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT,
        )
    return connection


def change_mark_key(client_pk: int) -> str:
    return f"api:changed:{client_pk}"


def mark_client_changed(client_pk: int) -> None:
    """A client was revoked or its token rotated: every process drops what it keeps of it at its
    next call. Written at once and again at commit, so that no process reads the old row between
    the two and keeps it. If Redis cannot be written, the processes' copies expire within
    auth.CACHE_SECONDS (and a call that cannot read the mark reads the database)."""

    def write():
        try:
            if settings.REDIS_URL:
                redis_client(settings.REDIS_URL).set(change_mark_key(client_pk), repr(time.time()), ex=CHANGE_MARK_SECONDS)
            else:
                cache.set(change_mark_key(client_pk), time.time(), CHANGE_MARK_SECONDS)
        except CACHE_DOWN as exc:
            logger.error("API client %s changed but Redis is unavailable to say so: %s", client_pk, exc)

    write()
    transaction.on_commit(write)
