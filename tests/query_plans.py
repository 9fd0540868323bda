"""What PostgreSQL plans for a statement a page ran, when a test asks whether an index serves it in its order."""

from django.db import connection


def plan_without_scans_or_sorts(sql: str, table: str) -> str:
    """The plan of `sql` once `table` is analyzed, with sequential scans and sorts turned off for the rest of the
    test's transaction: with a test's few rows the planner would pick them over any index."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"ANALYZE {table}")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(line for (line,) in cursor.fetchall())
