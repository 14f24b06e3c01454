"""Statistics for PostgreSQL's planner that Django's models cannot declare.

A tenant row's foreign keys decide its organization: a ticket's client
belongs to exactly one practice. The planner does not know that; it
multiplies the selectivities of ``organization_id = …`` and
``client_id IN (…)`` as if the two were independent. With one large
practice among many small ones it then expects a few hundred tickets where
there are ten thousand and picks a nested loop that reads a month's time
one ticket at a time. Functional-dependency statistics (``CREATE
STATISTICS … (dependencies)``) correct the estimate; ``ANALYZE`` fills them
(autovacuum keeps them current). SQLite, the embedded default, has no such
statistics: the operation does nothing there.
"""

from django.db import router
from django.db.migrations.operations.base import Operation


class DependencyStatistics(Operation):
    """``CREATE STATISTICS name (dependencies) ON columns FROM table``, then
    ``ANALYZE table``; reversed by ``DROP STATISTICS``. Constants only: the
    names come from the migration, never from input."""

    reversible = True

    def __init__(self, name: str, table: str, columns: list[str]):
        self.name, self.table, self.columns = name, table, list(columns)

    def state_forwards(self, app_label, state):
        pass  # no model state: the planner's statistics only

    def _applies(self, app_label, schema_editor) -> bool:
        connection = schema_editor.connection
        return connection.vendor == "postgresql" and router.allow_migrate(
            connection.alias, app_label
        )

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not self._applies(app_label, schema_editor):
            return
        columns = ", ".join(schema_editor.quote_name(c) for c in self.columns)
        table = schema_editor.quote_name(self.table)
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {schema_editor.quote_name(self.name)} "
            f"(dependencies) ON {columns} FROM {table}",
            params=None,
        )
        schema_editor.execute(f"ANALYZE {table}", params=None)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not self._applies(app_label, schema_editor):
            return
        schema_editor.execute(
            f"DROP STATISTICS IF EXISTS {schema_editor.quote_name(self.name)}", params=None
        )

    def describe(self):
        return f"Planner statistics {self.name} on {self.table} ({', '.join(self.columns)})"
