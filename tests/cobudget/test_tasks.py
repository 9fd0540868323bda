import time
from datetime import timedelta

import pytest
from django.utils import timezone

from cobudget import services, tasks
from cobudget.models import Round


def test_beat_runs_the_close_of_due_rounds_every_minute(settings):
    assert settings.CELERY_BEAT_SCHEDULE["cobudget-close-due-rounds"] == {"task": "cobudget.close_due_rounds",
                                                                         "schedule": 60.0}


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_closes_a_round_whose_funding_window_ended(celery_worker, make_round, make_bucket, member):
    round = make_round(funding_closes_at=timezone.now() + timedelta(hours=1))
    bucket = make_bucket(round, min_goal="10.00")
    services.allocation_create(bucket=bucket, actor=member, amount="10.00")
    Round.objects.filter(pk=round.pk).update(funding_closes_at=timezone.now() - timedelta(seconds=1))
    tasks.close_due_rounds.delay()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not Round.objects.get(pk=round.pk).settled_at:
        time.sleep(0.2)
    round.refresh_from_db()
    assert round.status == "closed" and round.settled_at is not None
    assert round.buckets.get().status == "funded"
