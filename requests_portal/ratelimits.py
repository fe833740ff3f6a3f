"""Rate limits of the public forms, counted by django-ratelimit on the Django cache (Redis in
production and in the tests).

A submission counts against the client's IP address and against each address it gives (e-mail
and phone, normalised, so that "Siti@X.test" and "siti@x.test" are one); a step on the status
page (code, re-send, answer, withdrawal, verification link) counts against the IP address and
against the request. The rates are settings (README, configuration table). Only hashes of the
values reach the cache (django-ratelimit keys its counters by SHA-256), never an address.

django_ratelimit is used through its core function, not as an installed app: its system check
refuses the local-memory cache of the embedded default (a single process, where a local counter
is exactly right) and warns about Django's own Redis cache, which increments atomically.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from django.conf import settings
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
# What a cache that is down raises (Django's Redis cache lets redis-py's errors through).
CACHE_DOWN = (RedisError, ConnectionError, TimeoutError)

# The fewest seconds a limited person is told to wait (a counter the cache could not read says -1).
MIN_RETRY_SECONDS = 60


@dataclass(frozen=True)
class Limited:
    """Over a limit: try again after `retry_after` seconds."""

    retry_after: int


def client_ip(request) -> str:
    """The client's network as counted: its IPv4 address, or the /64 of its IPv6 address (one
    household or phone gets a whole /64).

    The address is REMOTE_ADDR, or, behind `RATELIMIT_PROXY_COUNT` trusted proxies, the address the
    outermost of them saw (X-Forwarded-For counted from the right: its left part is whatever the
    client wrote).
    """
    address = request.META.get("REMOTE_ADDR") or ""
    proxies = settings.RATELIMIT_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


def _hit(request, *, group: str, value: str, rate: str) -> Limited | None:
    try:
        usage = get_usage(
            request, group=f"portal.{group}", key=lambda _group, _request: value, rate=rate, increment=True,
        )
    except CACHE_DOWN as exc:
        # A cache that is down must not lose what a person asks: the request is taken unlimited,
        # and the operator is told (the limits are a brake on abuse, not the door's lock).
        logger.error("rate limit %s not counted, the cache is unavailable: %s", group, exc)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    return Limited(retry_after=max(int(usage["time_left"]), MIN_RETRY_SECONDS))


def _first(*hits: Limited | None) -> Limited | None:
    limited = [hit for hit in hits if hit is not None]
    return max(limited, key=lambda hit: hit.retry_after) if limited else None


def limit_by_ip(request, *, group: str, rate: str) -> Limited | None:
    """Count one attempt of `group` from this client's IP address."""
    return _hit(request, group=f"{group}.ip", value=client_ip(request), rate=rate)


def limit_by_values(request, *, group: str, values: list[str], rate: str) -> Limited | None:
    """Count one attempt of `group` against each value (addresses, a request's id)."""
    return _first(*(_hit(request, group=group, value=value, rate=rate) for value in values if value))


def limit_submission_ip(request) -> Limited | None:
    return limit_by_ip(request, group="submit", rate=settings.RATELIMIT_SUBMIT_PER_IP)


def limit_submission_addresses(request, *, addresses: list[str]) -> Limited | None:
    return limit_by_values(request, group="submit.address", values=addresses, rate=settings.RATELIMIT_SUBMIT_PER_ADDRESS)


def limit_step(request, *, step: str, request_id: int) -> Limited | None:
    """A step on the status page (`code`, `resend`, `answer`, `withdraw`, `link`)."""
    return _first(
        limit_by_ip(request, group=f"step.{step}", rate=settings.RATELIMIT_STEP_PER_IP),
        limit_by_values(
            request, group=f"step.{step}.request", values=[str(request_id)], rate=settings.RATELIMIT_STEP_PER_REQUEST,
        ),
    )


def axes_client_ip(request) -> str | None:
    """client_ip for django-axes (AXES_CLIENT_IP_CALLABLE): the same address, None when there is none."""
    address = client_ip(request)
    return None if address == "unknown" else address
