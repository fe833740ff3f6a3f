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

from django.conf import settings
from django.core.cache import cache

from consent.clientmarks import CACHE_DOWN, UNKNOWN, redis_client

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60

__all__ = ["UNKNOWN", "rate_limit_hit"]  # UNKNOWN: a watched key Redis could not be asked for


def rate_limit_hit(
    *, client_key: str, limit: int, now: float | None = None, watch: str | None = None,
) -> int | None | tuple[int | None, object]:
    """Count one call; None if within the limit, else the seconds until the window ends.

    With `watch` (a key), the same round trip also reads that key and the answer is a pair
    (wait, its value as a float or None; UNKNOWN when Redis could not be asked)."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"api:rl:{client_key}:{window}"
    mark = None
    try:
        if settings.REDIS_URL:
            pipe = redis_client(settings.REDIS_URL).pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, WINDOW_SECONDS * 2)
            if watch:
                pipe.get(watch)
            answers = pipe.execute()
            count = answers[0]
            mark = answers[2] if watch else None
        else:
            cache.add(key, 0, WINDOW_SECONDS * 2)
            count = cache.incr(key)
            mark = cache.get(watch) if watch else None
    except CACHE_DOWN as exc:
        logger.error("API rate limit not counted for client %s, Redis is unavailable: %s", client_key, exc)
        return (None, UNKNOWN) if watch else None
    wait = None if count <= limit else max(1, (window + 1) * WINDOW_SECONDS - int(now))
    if watch:
        return wait, (float(mark) if mark is not None else None)
    return wait
