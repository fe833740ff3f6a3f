# JUNO Privacy: one image for the web (gunicorn), worker and beat processes.
# docker-compose.yml runs it three times; see the README's "Production" section.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var \
    STATIC_ROOT=/app/var/static \
    MEDIA_ROOT=/app/var/media \
    WEB_CONCURRENCY=3

RUN groupadd --system --gid 10001 juno \
    && useradd --system --uid 10001 --gid juno --home-dir /app --shell /usr/sbin/nologin juno

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
# Static files are collected into the image (whitenoise serves them, no CDN). The settings
# need a SECRET_KEY to load; this one exists only during the build.
RUN SECRET_KEY=collectstatic-at-build-time-only DEBUG=false python manage.py collectstatic --noinput -v 0 \
    && mkdir -p /app/var/media /app/var/mail \
    && chown -R juno:juno /app/var

USER juno
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "scripts/healthcheck.py", "http://127.0.0.1:8000/"]
# gunicorn takes its number of workers from WEB_CONCURRENCY. No control socket: the
# non-root user has no writable home for it.
CMD ["gunicorn", "junoprivacy.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--no-control-socket"]
