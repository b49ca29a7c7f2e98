# Production image: web (gunicorn), worker and beat all run from it (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system app && useradd --system --gid app --home /app app
WORKDIR /app

COPY pyproject.toml requirements.lock ./
COPY config ./config
COPY diary ./diary
COPY scoring ./scoring
COPY templates ./templates
COPY locale ./locale
COPY manage.py ./
# Editable, so the code runs from /app where the templates and instrument files are.
RUN pip install -c requirements.lock -e . \
    && DEBUG=0 SECRET_KEY=build-only-not-used-at-run-time DATABASE_URL=postgres://build@localhost/build \
       CELERY_BROKER_URL=redis://localhost:6379/0 python manage.py collectstatic --noinput \

USER app
EXPOSE 8000
CMD ["gunicorn", "--config", "config/gunicorn.conf.py", "config.wsgi:application"]
