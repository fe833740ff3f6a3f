"""Project-wide fixtures. Tests run on real PostgreSQL and Redis started by scripts/test."""

import pytest
from django.conf import settings


def pytest_configure(config):
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(
            "The suite runs on PostgreSQL: start it with scripts/test (it starts a throwaway "
            f"PostgreSQL and Redis), or set DATABASE_URL to a PostgreSQL server. Now: {engine}."
        )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Mark the throwaway test database as one: the consent ledger's trigger then lets Django's
    flush empty it between transactional tests (consent migration 0002). Never set elsewhere."""
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER DATABASE {connection.ops.quote_name(connection.settings_dict['NAME'])} "
                               "SET juno.ledger_truncate = 'on'")
                cursor.execute("SET juno.ledger_truncate = 'on'")


@pytest.fixture(autouse=True)
def _default_language():
    # A request through the test client leaves its language active in the thread.
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _plain_http_and_static(settings, tmp_path):
    # The test client speaks plain HTTP and no collectstatic has run.
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path / "media"
    # WhiteNoise warns when STATIC_ROOT does not exist; no collectstatic runs in tests.
    (tmp_path / "static").mkdir()
    settings.STATIC_ROOT = tmp_path / "static"


@pytest.fixture(autouse=True)
def _admin_without_second_factor(settings):
    # Admin tests sign in with force_login, which verifies no OTP device; the second factor has
    # its own tests (junoprivacy/tests/test_security.py), which switch it back on.
    settings.ADMIN_REQUIRE_OTP = False


@pytest.fixture(autouse=True)
def _celery_in_process(request):
    """Tasks run in process unless a test starts a real worker (marker `worker`)."""
    from junoprivacy.celery import app

    if request.node.get_closest_marker("worker"):
        yield
        return
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def seeded(transactional_db):
    """What the data migrations seed (rules, periodic tasks), put back after a flush."""
    from junoprivacy.testing import reseed_migrated_data

    reseed_migrated_data()


@pytest.fixture
def cluster_env():
    """Settings for the cluster's processes; a test module overrides this fixture."""
    return {}


@pytest.fixture
def cluster(seeded, tmp_path, cluster_env):
    """Real Celery workers and beat for one test (junoprivacy.testing); marker `worker`."""
    from junoprivacy.testing import start_cluster

    yield from start_cluster(tmp_path, cluster_env)
