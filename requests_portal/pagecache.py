"""Rendered public pages kept in the cache, the visitor's own parts put in at each answer.

Rendering a form page or a status page costs ten times what serving it from the cache does
(templates, one widget template per field), and these pages are the same for everyone who may
see them but for two values: the CSRF token and a form's signed submission key. So a page is
rendered once, kept with those two values replaced by marks, and each answer puts in the
visitor's own (a fresh masked CSRF token, a fresh submission key).

What keeps it true:
- a status page is keyed by its request's random public id (only a valid signed link reaches
  it) and language, and forgotten when the request changes: every change writes an event, and
  `forget_status` runs when that event's transaction commits; its "time left" is at most
  STATUS_TTL seconds old;
- a form page is keyed by right and language; the deadline table it quotes is read again
  after FORM_TTL seconds;
- a visitor with a message waiting (after a step, post-redirect-get) gets a fresh page, so the
  message is shown and never cached;
- a cache that is down costs only the rendering: pages are rendered as if it were empty.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.middleware.csrf import get_token
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

STATUS_TTL = 60
FORM_TTL = 300
CACHE_DOWN = (RedisError, ConnectionError, TimeoutError)
# Marks that cannot occur in a rendered page (control characters are never in our HTML).
CSRF_MARK = "\x00csrf\x00"
KEY_MARK = "\x00submission\x00"
CSRF_FIELD = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
KEY_FIELD = re.compile(r'(name="submission_key" value=")[^"]*(")')


def status_key(public_id, language: str) -> str:
    return f"portal:status:{public_id}:{language}"


def form_key(right: str, language: str) -> str:
    return f"portal:form:{right}:{language}"


def page_key(name: str, language: str) -> str:
    return f"portal:page:{name}:{language}"


def forget_status(public_id) -> None:
    """Forget a request's status pages once the change being made commits."""
    keys = [status_key(public_id, code) for code, _name in settings.LANGUAGES]

    def forget():
        try:
            cache.delete_many(keys)
        except CACHE_DOWN as exc:
            logger.error("status page of %s not forgotten, the cache is unavailable: %s", public_id, exc)

    transaction.on_commit(forget, robust=True)


def _message_waiting(request) -> bool:
    if request.COOKIES.get("messages"):
        return True
    # The session holds a message only when the cookie could not (FallbackStorage).
    session = getattr(request, "session", None)
    return bool(session is not None and session.session_key and "_messages" in session)


def cached_page(request, key: str, render: Callable[[], HttpResponse], *, ttl: int,
                new_submission_key: Callable[[], str] | None = None) -> HttpResponse:
    """The page kept under `key`, or `render()` kept there for `ttl` seconds."""
    if _message_waiting(request):
        return render()
    try:
        kept = cache.get(key)
    except CACHE_DOWN as exc:
        logger.error("page %s rendered without the cache, which is unavailable: %s", key, exc)
        return render()
    if kept is None:
        response = render()
        if response.status_code == 200 and not response.streaming:
            page = response.content.decode(response.charset)
            page = KEY_FIELD.sub(lambda m: m.group(1) + KEY_MARK + m.group(2), CSRF_FIELD.sub(
                lambda m: m.group(1) + CSRF_MARK + m.group(2), page))
            try:
                cache.set(key, page, ttl)
            except CACHE_DOWN as exc:
                logger.error("page %s not kept, the cache is unavailable: %s", key, exc)
        return response
    page = kept.replace(CSRF_MARK, get_token(request))
    if KEY_MARK in page and new_submission_key is not None:
        page = page.replace(KEY_MARK, new_submission_key())
    return HttpResponse(page)
