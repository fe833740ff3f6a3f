"""The per-client rate limit of the API: ApiClient.rate_limit calls a minute, counted on Redis.

A fixed window per minute: one key per client and minute, INCR and EXPIRE pipelined, so one
Redis round trip per call (django-ratelimit's `get_usage` takes two, add then incr, and keys by
caller-supplied groups; here the key is the client's public id). A window lets at most twice the
rate through across its edge, which is enough for a brake on a runaway till.
When Redis is down the call goes through and the failure is logged, as the portal's form limits
do (requests_portal/ratelimits.py): the limit is a brake, not the lock. Without REDIS_URL (the
embedded default, one process) the Django cache counts.
"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings
from django.core.cache import cache

from requests_portal.ratelimits import CACHE_DOWN

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
# A Redis that hangs must not hang the API: the call is let through after this.
REDIS_TIMEOUT = 0.25

_clients: dict[str, redis.Redis] = {}


def _redis(url: str) -> redis.Redis:
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT,
        )
    return client


def rate_limit_hit(*, client_key: str, limit: int, now: float | None = None) -> int | None:
    """Count one call; None if within the limit, else the seconds until the window ends."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"api:rl:{client_key}:{window}"
    try:
        if settings.REDIS_URL:
            pipe = _redis(settings.REDIS_URL).pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, WINDOW_SECONDS * 2)
            count = pipe.execute()[0]
        else:
            cache.add(key, 0, WINDOW_SECONDS * 2)
            count = cache.incr(key)
    except CACHE_DOWN as exc:
        logger.error("API rate limit not counted for client %s, Redis is unavailable: %s", client_key, exc)
        return None
    if count <= limit:
        return None
    return max(1, (window + 1) * WINDOW_SECONDS - int(now))
