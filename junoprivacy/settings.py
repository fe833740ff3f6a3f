"""Settings for JUNO Privacy: one module, every knob read from the environment.

With no environment at all the portal runs on the embedded default: SQLite under var/,
Celery tasks executed in process, cache in local memory and e-mail written as files under
var/mail/. Production sets DATABASE_URL, REDIS_URL, EMAIL_URL and the secrets. Every
variable is listed in the README's configuration table.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
# Everything the embedded default writes (SQLite file, mail, media, static) lives here.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
# Files only a signed link may serve (access packages): never under MEDIA_ROOT or STATIC_ROOT.
PRIVATE_MEDIA_DIR = Path(env.str("PRIVATE_MEDIA_DIR", default=str(VAR_DIR / "private")))

DEBUG = env.bool("DEBUG", default=False)
# The embedded default only: production must set its own, and check --deploy says so.
SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-embedded-default-change-me")
# Earlier keys, still accepted for what they signed (sessions, links, seals) while SECRET_KEY is rotated.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
# Key for keyed hashes (HMAC-SHA256) of identifiers in tombstones and the consent ledger.
# Kept apart from SECRET_KEY so rotating sessions never breaks a pseudonym.
PSEUDONYM_KEY = env.str("PSEUDONYM_KEY", default="embedded-default-pseudonym-key")
# Keys that seal (encrypt) an unfinished subject erasure's identifiers so that a killed worker's
# erasure can be resumed (retention/seal.py): the first seals, all open. Empty: derived from
# SECRET_KEY and SECRET_KEY_FALLBACKS.
ERASURE_SEAL_KEYS = env.list("ERASURE_SEAL_KEYS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A refused form says what to do, in the language of its page, in the portal's look.
CSRF_FAILURE_VIEW = "requests_portal.views.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "simple_history",
    "django_celery_beat",
    # Admin security (README, "Admin security"): failed logins throttled and logged, a second
    # factor for staff, a Content Security Policy on every page.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # One-time codes: the first superuser's way in (`manage.py addstatictoken`) and a spare
    # for a lost phone.
    "django_otp.plugins.otp_static",
    "csp",
    "merchants",
    "messaging",
    "retention",
    "consent",
    "requests_portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Early, so that every response gets the policy, those of the middleware below included.
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "junoprivacy.urls"
WSGI_APPLICATION = "junoprivacy.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "requests_portal.context_processors.controller",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Indonesian first: everything a data subject sees defaults to it; English is complete too.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="id")
LANGUAGES = [("id", _("Bahasa Indonesia")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "junoprivacy_language"
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Jakarta")
USE_I18N = True
USE_TZ = True

# Phones are normalised to E.164 with this region for numbers written nationally (0812...).
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="ID")

# The portal's public address, for the links in its messages (status pages, codes).
PORTAL_URL = env.str("PORTAL_URL", default="http://127.0.0.1:8000")
# How a code or an update reaches a phone: "sms" or "whatsapp" (the policy's channel).
PHONE_MESSAGE_CHANNEL = env.str("PHONE_MESSAGE_CHANNEL", default="whatsapp")
# A gateway for SMS and WhatsApp messages: an HTTPS endpoint that takes {"channel", "to", "body"}
# as JSON with a bearer token. Empty: each message is written as a file under VAR_DIR/sms/.
PHONE_GATEWAY_URL = env.str("PHONE_GATEWAY_URL", default="")
# Status callbacks of API-forwarded requests go only to public addresses unless this is on (tests,
# a private deployment whose JUNOPOS listens on an internal network).
API_CALLBACK_ALLOW_PRIVATE = env.bool("API_CALLBACK_ALLOW_PRIVATE", default=False)
PHONE_GATEWAY_TOKEN = env.str("PHONE_GATEWAY_TOKEN", default="")
PHONE_OUTBOX_DIR = Path(env.str("PHONE_OUTBOX_DIR", default=str(VAR_DIR / "sms")))

# Rate limits of the public forms (requests_portal/ratelimits.py, django-ratelimit on the cache):
# "count/period", the period s, m, h or d ("10/h", "50/12h"). A submission counts per IP address
# and per e-mail or phone given; a step on the status page per IP address and per request.
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_SUBMIT_PER_IP = env.str("RATELIMIT_SUBMIT_PER_IP", default="10/h")
RATELIMIT_SUBMIT_PER_ADDRESS = env.str("RATELIMIT_SUBMIT_PER_ADDRESS", default="5/h")
RATELIMIT_STEP_PER_IP = env.str("RATELIMIT_STEP_PER_IP", default="30/h")
RATELIMIT_STEP_PER_REQUEST = env.str("RATELIMIT_STEP_PER_REQUEST", default="10/h")
# Trusted proxies in front of the portal that append to X-Forwarded-For; 0: the client is REMOTE_ADDR.
RATELIMIT_PROXY_COUNT = env.int("RATELIMIT_PROXY_COUNT", default=0)

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# E-mail: by default every message is written as a file under var/mail/, so that a person
# running the portal locally can open the verification mail. Production: EMAIL_URL=smtp+tls://...
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
# Seconds an SMTP call may take: well below the outbox's sending lease (5 minutes), so a slow
# server never lets a second sender start on the same message.
EMAIL_TIMEOUT = 60
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="JUNO Privacy <privacy@junopos.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: Redis as broker when REDIS_URL is set; otherwise tasks run in process, eagerly.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not bool(REDIS_URL))
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 5 * 60}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Retention: rows per erasure batch (each batch one transaction) and the purge lock's lease,
# renewed before every batch; a killed worker's lease runs out after this many seconds.
ERASURE_BATCH_SIZE = env.int("ERASURE_BATCH_SIZE", default=2000)
# The notice of a new policy version: merchants per batch (each batch one transaction), and a pause
# between batches (tests use it to kill a worker mid-way; 0 in production).
CONSENT_NOTICE_BATCH = env.int("CONSENT_NOTICE_BATCH", default=200)
CONSENT_NOTICE_PAUSE = env.float("CONSENT_NOTICE_PAUSE", default=0.0)
PURGE_LEASE_SECONDS = env.int("PURGE_LEASE_SECONDS", default=300)
# A long erasure saves its progress, gives its claim back and queues itself again after this many
# seconds, well before the soft time limit: only a real error is a failure.
ERASURE_TIME_BUDGET_SECONDS = env.int(
    "ERASURE_TIME_BUDGET_SECONDS", default=max(60, CELERY_TASK_SOFT_TIME_LIMIT - 5 * 60)
)

# Security: strict in production, relaxed only where DEBUG serves plain HTTP locally.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Admin security. django-axes counts failed logins per username and IP address together (one
# person's typos never lock out a colleague) in the database, where officers see them in the
# admin, and refuses that pair for a while after too many. Its backend goes first; the
# request-less authenticate() of a shell or a command has no IP to count and passes through.
AUTHENTICATION_BACKENDS = [
    "junoprivacy.admin_site.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
# 0: locked until a superuser deletes the access attempt in the admin.
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30)) or None
AXES_LOCKOUT_CALLABLE = "junoprivacy.admin_site.lockout_response"
# The client's address as the public forms' rate limits count it: REMOTE_ADDR, or behind
# RATELIMIT_PROXY_COUNT trusted proxies the address the outermost one saw. Without it, behind the
# TLS proxy every client would have the proxy's address, and anyone knowing a username could
# lock its owner out.
AXES_CLIENT_IP_CALLABLE = "requests_portal.ratelimits.axes_client_ip"
# Staff need a second factor (TOTP, django-otp) for the admin, except on a developer's machine.
ADMIN_REQUIRE_OTP = env.bool("ADMIN_REQUIRE_OTP", default=not DEBUG)
OTP_TOTP_ISSUER = "JUNO Privacy"
# Content Security Policy (django-csp): everything from the portal itself, no CDN, never framed.
# No inline script but one with the request's nonce (django-celery-beat's task form, see
# templates/admin/djcelery/); a page that uses none gets none in its header.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own default console handler would print each line a second time.
        "django": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO"), "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
