"""Every beat schedule lives in the settings (CELERY_BEAT_SCHEDULE); the row migration 0002 added goes."""

from importlib import import_module

from django.db import migrations

first_schedule = import_module("cobudget.migrations.0002_close_due_rounds_schedule")


class Migration(migrations.Migration):
    dependencies = [
        ("cobudget", "0006_content_checked_uploads"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(first_schedule.unschedule, first_schedule.schedule)]
