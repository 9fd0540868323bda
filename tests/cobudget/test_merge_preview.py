"""What a merge would move, as the bucket's page asks it of each merge target (`services.merge_moved_by_target`,
summed by the database), is what the merge then moves (`services.merge_split`, funder by funder)."""

from decimal import Decimal as D

import pytest

from budgets.models import Account
from cobudget import services


@pytest.mark.parametrize(("cap", "moved_into_oven", "moved_into_jam"), [
    (None, D("85.00"), D("85.00")),
    # member: 45 in bread, 30 already in oven: 20 follow; Gaëlle 20 and Hugo 20 follow whole. Into jam, where
    # Gaëlle has 40 already, 10 of hers follow.
    (D("50.00"), D("60.00"), D("85.00") - D("10.00")),
])
def test_what_the_page_says_would_move_is_what_the_merge_moves(make_round, make_bucket, coordinator, member, people,
                                                                cap, moved_into_oven, moved_into_jam):
    round = make_round(max_per_member_per_bucket=cap)
    oven = make_bucket(round, title="Oven", min_goal="100.00", max_goal="200.00")
    jam = make_bucket(round, title="Jam", min_goal="100.00", max_goal="200.00")
    bread = make_bucket(round, title="Bread", min_goal="80.00", max_goal="100.00")
    services.allocation_create(bucket=oven, actor=member, amount="30.00")
    services.allocation_create(bucket=jam, actor=people[2], amount="40.00")
    for person, amount in ((member, "45.00"), (people[2], "20.00"), (people[3], "20.00")):
        services.allocation_create(bucket=bread, actor=person, amount=amount)
    bread.round = round

    assert services.merge_moved_by_target(bread, [oven.pk, jam.pk]) == {oven.pk: moved_into_oven,
                                                                       jam.pk: moved_into_jam}
    before = Account.objects.get(pk=oven.account_id).balance
    services.bucket_merge(bucket=bread, into=oven, actor=coordinator)
    assert Account.objects.get(pk=oven.account_id).balance - before == moved_into_oven
