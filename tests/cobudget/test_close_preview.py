"""The close's rule twice: in SQL (`services.bucket_outcome_in_sql`, with which the coordinator's round page
previews a close without reading a row a bucket) and in Python (`services.bucket_outcome`, which the close
applies). Both must give every bucket the same outcome."""

from decimal import Decimal as D

import pytest

from cobudget import outcomes, services
from cobudget.models import Bucket

# Against a minimum of 60.00: nothing, under and at 50 %, under and at 80 %, the minimum, over it.
FUNDED = ["0", "29.99", "30.00", "47.99", "48.00", "60.00", "75.00"]


@pytest.mark.parametrize(("policy", "threshold", "partially"), [("accept", 50, 3), ("accept", 80, 1),
                                                                 ("refund", 50, 0)])
def test_the_rule_in_sql_is_the_rule_of_the_close(collective, people, make_round, make_bucket, policy, threshold,
                                                  partially):
    round = make_round(partial_policy=policy, partial_threshold_percent=threshold)
    funders = iter(people)
    for amount in FUNDED:
        bucket = make_bucket(round, min_goal="60.00", max_goal="150.00", title=amount)
        if D(amount):
            services.allocation_create(bucket=bucket, actor=next(funders), amount=amount)
    buckets = Bucket.objects.filter(round=round)
    in_sql = dict(buckets.annotate(outcome=services.bucket_outcome_in_sql(round)).values_list("title", "outcome"))
    in_python = {bucket.title: services.bucket_outcome(round=round, funded=bucket.account.balance,
                                                       min_goal=bucket.min_goal)
                 for bucket in buckets.select_related("account")}
    assert in_sql == in_python
    assert list(in_sql.values()).count("partially_funded") == partially
    preview = outcomes.round_close_preview(round)
    assert (preview.funded, preview.partially, preview.unfunded) == (2 + partially, partially, 5 - partially)
    assert preview.funded_total + preview.refunded == sum(D(amount) for amount in FUNDED)
