"""Celery beat (django-celery-beat's database scheduler) closes due periods every hour."""

from django.db import migrations

TASK_NAME = "budgets: close due periods"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _created = CrontabSchedule.objects.get_or_create(
        minute="17", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Europe/Paris",
    )
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME, defaults={"task": "budgets.close_due_periods", "crontab": crontab, "enabled": True},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("budgets", "0004_budget_envelope_funding_period_ratelevel_task_and_more"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
