"""Each period keeps what its closing granted, as each budget does (migration 0014), so that its figures (a budget's
page and its periods, the period's page, the periods API, the dashboards) read its row instead of summing its
payouts: on the bench's large data, the periods API's page of twelve periods spent 43 ms summing theirs.

The same kinds of triggers as the budget's, on their own functions: payouts inserted or deleted add or take away
their grants once per statement, by period; a payout whose grant changes (a reversal) or that moves to another
period moves its grant. A closing holds its period's lock already; a reversal or a correction of a closed period's
payout now also locks that period's row, which nothing holds while waiting for the budget's.
budgets.ledger_audit checks the column against the sum nightly."""

from django.db import migrations, models

FILL = """
UPDATE budgets_period AS period SET granted_total = granted.total
  FROM (SELECT period_id, sum(granted) AS total FROM budgets_payout GROUP BY period_id) AS granted
 WHERE period.id = granted.period_id;
"""

# Reversed, the column goes away with its contents: nothing to undo here.
UNFILL = migrations.RunSQL.noop

TRIGGERS = """
CREATE FUNCTION budgets_period_granted_by_statement() RETURNS trigger AS $$
BEGIN
    UPDATE budgets_period AS period
       SET granted_total = period.granted_total + CASE TG_OP WHEN 'INSERT' THEN moved.total ELSE -moved.total END
      FROM (SELECT period_id, sum(granted) AS total FROM changed GROUP BY period_id HAVING sum(granted) <> 0) AS moved
     WHERE period.id = moved.period_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payout_period_granted_inserted AFTER INSERT ON budgets_payout
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION budgets_period_granted_by_statement();
CREATE TRIGGER payout_period_granted_deleted AFTER DELETE ON budgets_payout
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION budgets_period_granted_by_statement();

CREATE FUNCTION budgets_period_granted_by_row() RETURNS trigger AS $$
BEGIN
    UPDATE budgets_period SET granted_total = granted_total - OLD.granted WHERE id = OLD.period_id;
    UPDATE budgets_period SET granted_total = granted_total + NEW.granted WHERE id = NEW.period_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payout_period_granted_changed AFTER UPDATE OF granted, period_id ON budgets_payout
    FOR EACH ROW WHEN (OLD.granted IS DISTINCT FROM NEW.granted OR OLD.period_id IS DISTINCT FROM NEW.period_id)
    EXECUTE FUNCTION budgets_period_granted_by_row();
"""

UNTRIGGERS = """
DROP TRIGGER payout_period_granted_changed ON budgets_payout;
DROP FUNCTION budgets_period_granted_by_row();
DROP TRIGGER payout_period_granted_deleted ON budgets_payout;
DROP TRIGGER payout_period_granted_inserted ON budgets_payout;
DROP FUNCTION budgets_period_granted_by_statement();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("budgets", "0015_period_demand_totals"),
    ]

    operations = [
        migrations.AddField(
            model_name="period",
            name="granted_total",
            field=models.DecimalField(db_default=0, decimal_places=2, default=0, editable=False, max_digits=14,
                                      verbose_name="granted in all"),
        ),
        migrations.RunSQL(FILL, UNFILL),
        migrations.RunSQL(TRIGGERS, UNTRIGGERS),
    ]
