"""The declarations list counts each shown declaration's comments without grouping the whole joined list (issue
12: the count ran over a 7-table GROUP BY before paginating, 440 ms for a page of 50 among 20,000)."""

import pytest

from contributions.models import Comment
from contributions.selectors import contributions_of
from tests.budgets.helpers import declare, make_budget, person

pytestmark = pytest.mark.django_db


def test_each_declaration_counts_its_own_comments_and_the_list_is_not_grouped(collective, coordinator):
    budget = make_budget(collective, coordinator)
    author = person(collective, 1)
    quiet, discussed, once = (declare(budget, author, amount) for amount in ("10.00", "20.00", "30.00"))
    for contribution, count in ((discussed, 3), (once, 1)):
        for n in range(count):
            Comment.objects.create(collective=collective, contribution=contribution, author=coordinator,
                                   body=f"Question {n}")
    listed = contributions_of(collective)
    assert {c.pk: c.comments_count for c in listed} == {quiet.pk: 0, discussed.pk: 3, once.pk: 1}
    assert listed.query.group_by is None  # only the per-declaration subquery groups
    assert listed.count() == 3 and [c.pk for c in listed[:2]] == [c.pk for c in list(listed)[:2]]
