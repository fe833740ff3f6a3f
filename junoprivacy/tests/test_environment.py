"""The suite runs where scripts/test promises: on real PostgreSQL and real Redis."""

import os

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection


@pytest.mark.django_db
def test_database_is_postgresql():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        assert int(cursor.fetchone()[0]) >= 150000


def test_cache_is_the_test_redis():
    assert os.environ.get("REDIS_URL"), "scripts/test exports REDIS_URL"
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    cache.set("junoprivacy-test-key", {"ok": 1}, 30)
    assert cache.get("junoprivacy-test-key") == {"ok": 1}
    cache.delete("junoprivacy-test-key")


def test_celery_broker_is_the_test_redis():
    from junoprivacy.celery import app

    assert app.conf.broker_url == os.environ["REDIS_URL"]
    assert redis.Redis.from_url(os.environ["REDIS_URL"]).ping() is True
