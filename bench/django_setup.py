"""Django for benchmarks: the production settings against a dedicated, freshly migrated database.

The server is DATABASE_URL's (with DATABASE_OWNER_URL) when set, else an embedded PostgreSQL
under .data/pg-bench (apart from `make run`'s and the tests' data). Either way the benchmark
works in its own database, `<name>_bench`, created and migrated by the owner at start and
dropped at the end, so it never touches real or test data.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def django_setup(*, keep: bool = False, reuse: bool = False) -> Callable[[], None]:
    """Configure Django, create and migrate the benchmark database; returns the teardown that
    drops it. `keep`: the teardown leaves it (for a later `reuse`, or psql). `reuse`: the
    database a kept run left is used as it is, neither created nor dropped."""
    from config import embedded

    # DEBUG off always: with DEBUG on Django keeps every query in memory, which distorts timings.
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("AUDIT_CHAIN_KEY", "bench-only-audit-chain-key-not-a-secret")
    if not os.environ.get("DATABASE_URL"):
        data = embedded.data_root(BASE_DIR)
        urls = embedded.postgres_start(data / "pg-bench")
        os.environ["DATABASE_URL"], os.environ["DATABASE_OWNER_URL"] = urls.app, urls.owner
    # Required by the settings; benchmarks call services directly and publish nothing.
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"

    import django

    django.setup()
    from django.db import connection

    from config.database_roles import connected_as_owner

    original_name = connection.settings_dict["NAME"]
    bench_name = f"{original_name}_bench"
    connection.settings_dict["TEST"]["NAME"] = bench_name
    if reuse:
        connection.close()
        connection.settings_dict["NAME"] = bench_name
        connection.ensure_connection()  # fails here, clearly, when no run kept one
        return lambda: None
    # Created and migrated by the owner, then used as the application role, as in production.
    with connected_as_owner():
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)

    def teardown() -> None:
        if keep:
            print(f"bench database {bench_name} kept (reuse it with --reuse)")
            return
        with connected_as_owner():
            connection.creation.destroy_test_db(original_name, verbosity=0)

    return teardown
