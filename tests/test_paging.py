"""Pages read by their ids first (contrib_budget.paging.IdsFirst): the queryset's order across a join, two queries
a page whatever the list's length, and the rows with what they select."""

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contrib_budget.paging import IdsFirst
from members.models import Membership, Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_page_keeps_the_order_of_the_queryset_across_a_join_in_two_queries(collective):
    for name in ("Chloé", "Anna", "Bruno", "Emma", "David"):
        MembershipFactory(collective=collective, user=UserFactory(name=name), roles=[Role.MEMBER.value])
    ordered = Membership.objects.of(collective).select_related("user").order_by("-user__name", "id")
    pages = Paginator(IdsFirst(ordered), 2)
    assert pages.count == 5 and pages.num_pages == 3
    with CaptureQueriesContext(connection) as reads:
        second = list(pages.page(2).object_list)
        names = [membership.user.name for membership in second]  # the user came with the membership
    assert names == ["Chloé", "Bruno"]
    assert len(reads.captured_queries) == 2
    assert "LIMIT 2 OFFSET 2" in reads.captured_queries[0]["sql"]
    assert [m.user.name for m in pages.page(3).object_list] == ["Anna"]
