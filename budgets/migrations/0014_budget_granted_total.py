"""Each budget keeps what its closings granted over its whole history, so that its pages (the budgets list and
page, the API, the dashboards) read one row instead of summing every payout of every period: one budget's sum took
40-80 ms among the bench's 458,000 payouts, and it grew with each closing.

The database keeps the column, whoever writes the payouts (a closing's COPY, the ORM, the bench's SQL):
- payouts inserted or deleted add or take away their grants, once per statement, by budget;
- a payout whose grant changes (a reversal sets it to zero) or that moves to another period moves its grant.
Every movement of a budget's money locks the budget's row first (budgets.services.budget_lock), so these updates
wait for nothing new. budgets.ledger_audit checks the column against the sum nightly."""

from django.db import migrations, models

FILL = """
UPDATE budgets_budget AS budget SET granted_total = granted.total
  FROM (SELECT period.budget_id, sum(payout.granted) AS total
          FROM budgets_payout AS payout JOIN budgets_period AS period ON period.id = payout.period_id
         GROUP BY period.budget_id) AS granted
 WHERE budget.id = granted.budget_id;
"""

# Reversed, the column goes away with its contents: nothing to undo here.
UNFILL = migrations.RunSQL.noop

TRIGGERS = """
CREATE FUNCTION budgets_granted_total_by_statement() RETURNS trigger AS $$
BEGIN
    UPDATE budgets_budget AS budget
       SET granted_total = budget.granted_total + CASE TG_OP WHEN 'INSERT' THEN moved.total ELSE -moved.total END
      FROM (SELECT period.budget_id, sum(payout.granted) AS total
              FROM changed AS payout JOIN budgets_period AS period ON period.id = payout.period_id
             GROUP BY period.budget_id HAVING sum(payout.granted) <> 0) AS moved
     WHERE budget.id = moved.budget_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payout_granted_inserted AFTER INSERT ON budgets_payout
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION budgets_granted_total_by_statement();
CREATE TRIGGER payout_granted_deleted AFTER DELETE ON budgets_payout
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION budgets_granted_total_by_statement();

CREATE FUNCTION budgets_granted_total_by_row() RETURNS trigger AS $$
BEGIN
    UPDATE budgets_budget AS budget SET granted_total = budget.granted_total - OLD.granted
      FROM budgets_period AS period WHERE period.id = OLD.period_id AND budget.id = period.budget_id;
    UPDATE budgets_budget AS budget SET granted_total = budget.granted_total + NEW.granted
      FROM budgets_period AS period WHERE period.id = NEW.period_id AND budget.id = period.budget_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER payout_granted_changed AFTER UPDATE OF granted, period_id ON budgets_payout
    FOR EACH ROW WHEN (OLD.granted IS DISTINCT FROM NEW.granted OR OLD.period_id IS DISTINCT FROM NEW.period_id)
    EXECUTE FUNCTION budgets_granted_total_by_row();
"""

UNTRIGGERS = """
DROP TRIGGER payout_granted_changed ON budgets_payout;
DROP FUNCTION budgets_granted_total_by_row();
DROP TRIGGER payout_granted_deleted ON budgets_payout;
DROP TRIGGER payout_granted_inserted ON budgets_payout;
DROP FUNCTION budgets_granted_total_by_statement();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("budgets", "0013_payout_period_ends_on"),
    ]

    operations = [
        migrations.AddField(
            model_name="budget",
            name="granted_total",
            field=models.DecimalField(db_default=0, decimal_places=2, default=0, editable=False, max_digits=14,
                                      verbose_name="granted in all"),
        ),
        migrations.RunSQL(FILL, UNFILL),
        migrations.RunSQL(TRIGGERS, UNTRIGGERS),
    ]
