# Production image: web (gunicorn), worker and beat all run from it (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed numeric id, so that an orchestrator can check `runAsNonRoot` without reading
# /etc/passwd.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home /app --no-create-home app
WORKDIR /app

# pg_dump and pg_restore for `manage.py backup` / `restore`: they must be at least as new as the
# server (postgres:16 in docker-compose.yml), and Debian bookworm's own client is 15, so they
# come from PostgreSQL's own apt repository (apt.postgresql.org), signed with its key.
ARG POSTGRES_CLIENT_MAJOR=16
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && install -d /usr/share/postgresql-common/pgdg \
    && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
       https://www.postgresql.org/media/keys/ACCC4CF8.asc \
    && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
       > /etc/apt/sources.list.d/pgdg.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends "postgresql-client-${POSTGRES_CLIENT_MAJOR}" \
    && apt-get purge -y curl && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
    && install -d -o 10001 -g 10001 -m 0700 /backups \
    && install -d -o 10001 -g 10001 -m 0700 /site-copies

COPY pyproject.toml requirements.lock ./
COPY config ./config
COPY diary ./diary
COPY scoring ./scoring
COPY templates ./templates
COPY locale ./locale
COPY manage.py ./
# Editable, so the code runs from /app where the templates and instrument files are. Built as
# root: the code and the collected static files stay read-only for the process that serves.
# collectstatic connects to nothing; the settings only need these variables to be present.
RUN pip install -c requirements.lock -e . \
    && DEBUG=0 SECRET_KEY=build-only-not-used-at-run-time \
       AUDIT_CHAIN_KEY=build-only-not-used-at-run-time-0000 DATABASE_URL=postgres://build@localhost/build \
       CELERY_BROKER_URL=redis://localhost:6379/0 python manage.py collectstatic --noinput

USER 10001:10001
EXPOSE 8000
CMD ["gunicorn", "--config", "config/gunicorn.conf.py", "config.wsgi:application"]
