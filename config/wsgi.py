import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def _broker_client_load() -> None:
    """Load Celery's task registry and the broker's client library now, at start-up.

    Otherwise the first questionnaire submission of every web process imports them (some 90
    modules) while the participant waits, about a tenth of a second. Nothing connects here.
    """
    from config.celery import app

    app.finalize(auto=True)
    app.connection_for_write().transport  # noqa: B018  (the property imports the transport)


_broker_client_load()
