"""Each period keeps what its declarations ask, so that its figures (a budget's page and its periods, the period's
page, the dashboards, the periods API) read the period's row instead of summing its declarations: at 20,000
declarations a period, a budget's page spent about 200 ms summing them, and the sum grew with every declaration.

The database keeps the columns, whoever writes the declarations (the services, a closing carrying the pending ones
to the next period, the bench's and the demo's SQL): once per statement, the declarations it inserted, deleted or
changed add or take away, by period, what they ask. A statement that changes nothing asked (a description, a
timestamp) writes no period. Every service that writes a declaration locks its period's row first
(contributions.services), so these updates wait for nothing new. contributions.demand checks the columns against
the sums nightly.

The statuses are written out here, as they stand in contributions.models: NOT_COUNTED (rejected, withdrawn) ask
for nothing; validated and adjusted declarations count in `validated`, at their validated amount."""

from django.db import migrations

ASKED = """
    SELECT period_id,
           sum(sign * CASE WHEN status IN ('rejected', 'withdrawn') THEN 0 ELSE amount END) AS requested,
           sum(sign * CASE WHEN status IN ('validated', 'adjusted') THEN coalesce(validated_amount, amount) ELSE 0
                      END) AS validated,
           sum(sign) AS claims
      FROM ({rows}) AS changed
     GROUP BY period_id"""

FILL = f"""
UPDATE budgets_period AS period
   SET requested_total = asked.requested, validated_total = asked.validated, claim_count = asked.claims
  FROM ({ASKED.format(rows="SELECT 1 AS sign, * FROM contributions_contribution")}) AS asked
 WHERE period.id = asked.period_id;
"""

UNFILL = "UPDATE budgets_period SET requested_total = 0, validated_total = 0, claim_count = 0;"


def _move(rows: str) -> str:
    """Add what the `rows` (each with its sign) ask to their periods, leaving alone the periods they ask no more
    and no less of."""
    return f"""
        UPDATE budgets_period AS period
           SET requested_total = period.requested_total + moved.requested,
               validated_total = period.validated_total + moved.validated,
               claim_count = period.claim_count + moved.claims
          FROM ({ASKED.format(rows=rows)}) AS moved
         WHERE period.id = moved.period_id AND (moved.requested <> 0 OR moved.validated <> 0 OR moved.claims <> 0);"""


TRIGGERS = f"""
CREATE FUNCTION contributions_period_demand() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_move("SELECT 1 AS sign, * FROM added")}
    ELSIF TG_OP = 'DELETE' THEN
        {_move("SELECT -1 AS sign, * FROM removed")}
    ELSE
        {_move("SELECT 1 AS sign, * FROM added UNION ALL SELECT -1 AS sign, * FROM removed")}
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER contribution_demand_inserted AFTER INSERT ON contributions_contribution
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION contributions_period_demand();
CREATE TRIGGER contribution_demand_deleted AFTER DELETE ON contributions_contribution
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION contributions_period_demand();
CREATE TRIGGER contribution_demand_updated AFTER UPDATE ON contributions_contribution
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION contributions_period_demand();
"""

UNTRIGGERS = """
DROP TRIGGER contribution_demand_updated ON contributions_contribution;
DROP TRIGGER contribution_demand_deleted ON contributions_contribution;
DROP TRIGGER contribution_demand_inserted ON contributions_contribution;
DROP FUNCTION contributions_period_demand();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("budgets", "0015_period_demand_totals"),
        ("contributions", "0007_period_newest_first_index"),
    ]

    operations = [
        migrations.RunSQL(FILL, UNFILL),
        migrations.RunSQL(TRIGGERS, UNTRIGGERS),
    ]
