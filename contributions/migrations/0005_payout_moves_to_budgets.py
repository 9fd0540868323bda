from django.db import migrations


class Migration(migrations.Migration):
    """Payouts move to the budgets app (budgets 0008 takes over the table): only the model's state leaves."""

    dependencies = [
        ("contributions", "0004_withdrawn_status"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="Payout")]),
    ]
