import os

from django.core.wsgi import get_wsgi_application

from config.celery import app
from config.startup import audit_chain_key_check

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

audit_chain_key_check()


def _task_publishing_prepare() -> None:
    """Ready the publishing of scoring tasks at start-up. Nothing connects here.

    Celery's task registry and the broker's client library are loaded now: otherwise the first
    questionnaire submission of every web process imports them (some 90 modules) while the
    participant waits, about a tenth of a second. And Celery's settings are copied into its
    own table: it reads a dozen of them for every task it publishes, each looked up through
    Django's settings object, which made up a sixth of a publish.
    """
    app.finalize(auto=True)
    app.connection_for_write().transport  # noqa: B018  (the property imports the transport)
    settings = app.conf.table(with_defaults=True, censored=False)
    app.conf.update({name: value for name, value in settings.items() if name.islower()})


_task_publishing_prepare()
