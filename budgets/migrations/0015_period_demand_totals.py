"""Each period keeps what its claims ask (requested, validated, how many): the columns only; the app that
defines the claims fills them and keeps them (contributions migration 0008)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("budgets", "0014_budget_granted_total"),
    ]

    operations = [
        migrations.AddField(
            model_name="period",
            name="claim_count",
            field=models.PositiveIntegerField(db_default=0, default=0, editable=False, verbose_name="number of claims"),
        ),
        migrations.AddField(
            model_name="period",
            name="requested_total",
            field=models.DecimalField(db_default=0, decimal_places=2, default=0, editable=False, max_digits=14, verbose_name="requested in all"),
        ),
        migrations.AddField(
            model_name="period",
            name="validated_total",
            field=models.DecimalField(db_default=0, decimal_places=2, default=0, editable=False, max_digits=14, verbose_name="validated in all"),
        ),
    ]
