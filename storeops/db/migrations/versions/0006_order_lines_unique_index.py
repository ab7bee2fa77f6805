"""order lines' unique key as an index

The (order_id, line_no) key of ``order_lines`` was a UNIQUE constraint written into the
table, which on SQLite cannot be dropped without rebuilding the table. As a named unique index
(``uq_order_lines_order_line``) a large load can drop it and build it again after its inserts
(``storeops.db.bulk.sqlite_indexes_built_after``): one sorted pass instead of a b-tree insert
per line, and a key found twice still fails the whole load.

On SQLite the change costs nothing whatever the table's size: the constraint's automatic
index already is that index, row for row (same columns, same order, unique), so the schema
text is rewritten in place (``writable_schema``, the procedure SQLite's ALTER TABLE
documentation gives for changes that leave the stored content as it is) and the index renamed;
no row is read or written. A table whose text is not the one migration 0001 wrote is rebuilt
instead (Alembic's batch mode). On PostgreSQL the unique index is built and the constraint
dropped (one index build).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 17:00:00
"""
from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLE = "order_lines"
INDEX = "uq_order_lines_order_line"
CONSTRAINT = "uq_order_lines_order_id"
COLUMNS = ["order_id", "line_no"]
_CLAUSE = re.compile(r",\s*CONSTRAINT\s+\"?uq_order_lines_order_id\"?\s+UNIQUE\s*"
                     r"\(\s*order_id\s*,\s*line_no\s*\)", re.I)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.create_index(INDEX, TABLE, COLUMNS, unique=True)
        op.drop_constraint(CONSTRAINT, TABLE, type_="unique")
        return
    table_sql = _table_sql(bind)
    auto = _unique_autoindex(bind)
    if auto is None or len(_CLAUSE.findall(table_sql)) != 1:
        with op.batch_alter_table(TABLE, recreate="always") as batch:
            batch.drop_constraint(CONSTRAINT, type_="unique")
            batch.create_index(INDEX, COLUMNS, unique=True)
        return
    _rewrite_schema(bind, [
        ("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :t",
         {"sql": _CLAUSE.sub("", table_sql), "t": TABLE}),
        ("UPDATE sqlite_master SET name = :name, sql = :sql WHERE type = 'index'"
         " AND name = :auto",
         {"name": INDEX, "sql": f"CREATE UNIQUE INDEX {INDEX} ON {TABLE} ({', '.join(COLUMNS)})",
          "auto": auto}),
    ])


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.create_unique_constraint(CONSTRAINT, TABLE, COLUMNS)
        op.drop_index(INDEX, table_name=TABLE)
        return
    table_sql = _table_sql(bind).rstrip()
    if not table_sql.endswith(")") or _unique_autoindex(bind) is not None:
        with op.batch_alter_table(TABLE, recreate="always") as batch:
            batch.drop_index(INDEX)
            batch.create_unique_constraint(CONSTRAINT, COLUMNS)
        return
    clause = f", \n\tCONSTRAINT {CONSTRAINT} UNIQUE ({', '.join(COLUMNS)})\n)"
    _rewrite_schema(bind, [
        ("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :t",
         {"sql": table_sql[:-1].rstrip() + clause, "t": TABLE}),
        ("UPDATE sqlite_master SET name = :auto, sql = NULL WHERE type = 'index'"
         " AND name = :name", {"auto": f"sqlite_autoindex_{TABLE}_1", "name": INDEX}),
    ])


def _table_sql(bind: sa.Connection) -> str:
    return bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)).scalar()


def _unique_autoindex(bind: sa.Connection) -> str | None:
    """The name of the automatic index of the table's UNIQUE (order_id, line_no), if any."""
    for row in bind.exec_driver_sql(f"PRAGMA index_list({TABLE})").all():
        name, unique, origin = row[1], row[2], row[3]
        if origin == "u" and unique:
            cols = [r[2] for r in bind.exec_driver_sql(f'PRAGMA index_info("{name}")').all()]
            if cols == COLUMNS:
                return name
    return None


def _rewrite_schema(bind: sa.Connection, updates: list[tuple[str, dict]]) -> None:
    """Edit ``sqlite_master`` in the migration's transaction, then bump the schema cookie so
    that every connection reads the schema again, and check the table and its indexes."""
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    try:
        for sql, params in updates:
            bind.execute(sa.text(sql), params)
        bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    problems = bind.exec_driver_sql(f"PRAGMA quick_check({TABLE})").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"{TABLE} after migration 0006: {problems[:5]}")
