import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# Payouts posted and paid so far were found by their transactions' idempotency keys; from now on the payout
# points at them.
LINK_TRANSACTIONS = """
UPDATE budgets_payout AS payout SET grant_transaction_id = txn.id
  FROM budgets_ledgertransaction AS txn
 WHERE txn.collective_id = payout.collective_id AND txn.idempotency_key = 'grant:' || payout.contribution_id;
UPDATE budgets_payout AS payout SET payment_transaction_id = txn.id
  FROM budgets_ledgertransaction AS txn
 WHERE txn.collective_id = payout.collective_id AND txn.idempotency_key = 'paid:' || payout.id;
-- The new foreign keys are checked at commit; check them now, so later migrations may alter the table.
SET CONSTRAINTS ALL IMMEDIATE;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('budgets', '0007_balance_follows_entries'),
        ('contributions', '0005_payout_moves_to_budgets'),
        ('members', '0006_invitation_email_sent_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The table exists (contributions 0001): take it over in the state, then give it the budgets name.
        migrations.SeparateDatabaseAndState(state_operations=[migrations.CreateModel(
            name='Payout',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('requested', models.DecimalField(decimal_places=2, max_digits=14, verbose_name='requested')),
                ('granted', models.DecimalField(decimal_places=2, max_digits=14, verbose_name='granted')),
                ('payable_amount', models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name='payable')),
                ('explanation_code', models.CharField(max_length=40)),
                ('explanation_params', models.JSONField(blank=True, default=dict)),
                ('paid_on', models.DateField(blank=True, null=True, verbose_name='paid on')),
                ('reference', models.CharField(blank=True, max_length=100, verbose_name='reference')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('collective', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.collective')),
                ('contribution', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='payout', to='contributions.contribution')),
                ('period', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payouts', to='budgets.period')),
                ('person', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payouts', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'payout',
                'verbose_name_plural': 'payouts',
                'ordering': ['period', 'id'],
                'constraints': [models.CheckConstraint(condition=models.Q(('granted__gte', 0), ('granted__lte', models.F('requested'))), name='payout_granted_within_request'), models.CheckConstraint(condition=models.Q(('payable_amount__gte', 0), ('payable_amount__lte', models.F('granted'))), name='payout_payable_within_granted'), models.CheckConstraint(condition=models.Q(('paid_on__isnull', True), ('payable_amount', models.F('granted')), _connector='OR'), name='payout_paid_only_when_payable')], 'db_table': 'contributions_payout',
            },
        )]),
        migrations.AlterModelTable(name='payout', table=None),
        migrations.AddField(
            model_name='payout',
            name='grant_transaction',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='granted_payout', to='budgets.ledgertransaction'),
        ),
        migrations.AddField(
            model_name='payout',
            name='payment_transaction',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='paid_payout', to='budgets.ledgertransaction'),
        ),
        migrations.RunSQL(LINK_TRANSACTIONS, migrations.RunSQL.noop),
    ]
