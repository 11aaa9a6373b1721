"""Alembic environment of the history database: always run on the connection clustermax passes (inside
its transaction, which holds the database's write lock), never from a configuration file."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
