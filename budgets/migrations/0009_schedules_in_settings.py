"""Every beat schedule lives in the settings (CELERY_BEAT_SCHEDULE); the row migration 0005 added goes."""

from importlib import import_module

from django.db import migrations

first_schedule = import_module("budgets.migrations.0005_close_due_periods_schedule")


class Migration(migrations.Migration):
    dependencies = [
        ("budgets", "0008_payout"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(first_schedule.unschedule, first_schedule.schedule)]
