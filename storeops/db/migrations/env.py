"""Alembic environment: run by ``storeops init`` (storeops.db.migrate) with a live connection."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from storeops.db.all_models import load_all

config = context.config
target_metadata = load_all().metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as conn:
        _run(conn)


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
