"""Each member's running totals: what they have in each bucket (MemberBucketTotal) and in all of a round's buckets
(Wallet.allocated), filled from the allocations so far, then kept by a trigger on every insert into
cobudget_allocation.

The trigger is per statement and reads the inserted rows as a table, so a close inserting thousands of refunds
updates the totals in two set-based statements, and one allocation costs two single-row writes inside the
inserting transaction (no round trip: the database runs them). Two inserts for one member and one bucket never
race: both hold the bucket's row lock (allocations, merges and the close all take it). Allocations are append-only (the application's role may neither UPDATE nor DELETE them,
contrib_budget/db_roles.py), so inserts are the only way the sums move."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FILL = """
INSERT INTO cobudget_memberbuckettotal (collective_id, bucket_id, user_id, amount)
SELECT collective_id, bucket_id, user_id, SUM(amount) FROM cobudget_allocation
 GROUP BY collective_id, bucket_id, user_id;
UPDATE cobudget_wallet AS wallet SET allocated = moved.amount
  FROM (SELECT wallet_id, SUM(amount) AS amount FROM cobudget_allocation GROUP BY wallet_id) AS moved
 WHERE wallet.id = moved.wallet_id;
"""

# Reversed, the columns and the table go away with their contents: nothing to undo here.
UNFILL = migrations.RunSQL.noop

TRIGGER = """
CREATE FUNCTION cobudget_allocation_running_totals() RETURNS trigger AS $$
BEGIN
    -- Rows that exist are moved, then the missing ones inserted (an INSERT ... ON CONFLICT would check a
    -- take-back's negative amount against the table's CHECK before finding the row it adds to).
    WITH moved AS (
        SELECT collective_id, bucket_id, user_id, SUM(amount) AS amount FROM inserted_allocations
         GROUP BY collective_id, bucket_id, user_id
    ), updated AS (
        UPDATE cobudget_memberbuckettotal AS total SET amount = total.amount + moved.amount
          FROM moved WHERE total.bucket_id = moved.bucket_id AND total.user_id = moved.user_id
        RETURNING total.bucket_id, total.user_id
    )
    INSERT INTO cobudget_memberbuckettotal (collective_id, bucket_id, user_id, amount)
    SELECT collective_id, bucket_id, user_id, amount FROM moved
     WHERE NOT EXISTS (SELECT 1 FROM updated
                        WHERE updated.bucket_id = moved.bucket_id AND updated.user_id = moved.user_id);
    UPDATE cobudget_wallet AS wallet SET allocated = wallet.allocated + moved.amount
      FROM (SELECT wallet_id, SUM(amount) AS amount FROM inserted_allocations GROUP BY wallet_id) AS moved
     WHERE wallet.id = moved.wallet_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER allocation_running_totals AFTER INSERT ON cobudget_allocation
    REFERENCING NEW TABLE AS inserted_allocations
    FOR EACH STATEMENT EXECUTE FUNCTION cobudget_allocation_running_totals();
"""

UNTRIGGER = """
DROP TRIGGER allocation_running_totals ON cobudget_allocation;
DROP FUNCTION cobudget_allocation_running_totals();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('budgets', '0009_schedules_in_settings'),
        ('cobudget', '0007_schedules_in_settings'),
        ('members', '0006_invitation_email_sent_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='MemberBucketTotal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('amount', models.DecimalField(decimal_places=2, max_digits=14, verbose_name='amount')),
                ('bucket', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                             related_name='member_totals', to='cobudget.bucket')),
                ('collective', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+',
                                                 to='members.collective')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+',
                                           to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'what a member has in a bucket',
                'verbose_name_plural': 'what members have in buckets',
            },
        ),
        migrations.AddConstraint(
            model_name='memberbuckettotal',
            constraint=models.UniqueConstraint(fields=('bucket', 'user'), name='member_bucket_total_once'),
        ),
        migrations.AddField(
            model_name='wallet',
            name='allocated',
            field=models.DecimalField(decimal_places=2, default=0, max_digits=14, verbose_name='in buckets'),
        ),
        migrations.RunSQL(FILL, UNFILL),
        migrations.AddConstraint(
            model_name='wallet',
            constraint=models.CheckConstraint(condition=models.Q(('allocated__gte', 0)),
                                              name='wallet_allocated_not_negative'),
        ),
        migrations.AddConstraint(
            model_name='memberbuckettotal',
            constraint=models.CheckConstraint(condition=models.Q(('amount__gte', 0)),
                                              name='member_bucket_total_not_negative'),
        ),
        migrations.RunSQL(TRIGGER, UNTRIGGER),
    ]
