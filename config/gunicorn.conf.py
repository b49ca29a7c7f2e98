"""gunicorn for the web service: the Dockerfile, docker-compose.yml and bench/bench_submit.py.

    gunicorn -c config/gunicorn.conf.py config.wsgi:application

Sync workers: a process serves one request at a time, and the requests that wait, wait in the
kernel's accept queue in the order they came. With threads (gthread) they wait for the Python
interpreter lock instead, in no order: under 20 concurrent clients the slowest 5 % of
questionnaire submissions took half again as long (`python -m bench submit --threads 4`).
Put the TLS-terminating reverse proxy in front, as for any gunicorn with sync workers: it
buffers slow phones, which would otherwise hold a worker for as long as they take to send.

Environment: WEB_CONCURRENCY (worker processes; default two per CPU plus one, at most 9: each
holds a PostgreSQL connection), GUNICORN_BIND
(default 0.0.0.0:8000), GUNICORN_TIMEOUT (seconds, default 30), GUNICORN_ACCESS_LOG (default
"-", standard output; empty for none).
"""

import os

bind = [os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY", "0")) or min(2 * (os.cpu_count() or 1) + 1, 9)
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
