"""Equal Shares rounds: participants support buckets, the close shares the total by the Method of Equal Shares
and funds the selected buckets; money is conserved and the results explain every bucket."""

from decimal import Decimal as D

import pytest

from budgets.ledger_audit import ledger_violations
from budgets.models import Account, AccountKind
from cobudget import selectors, services
from cobudget.models import BucketStatus, Round
from contrib_budget.errors import Conflict, DomainError, Forbidden
from members.models import AuditEvent

from .helpers import open_bucket

pytestmark = pytest.mark.django_db


def test_the_close_funds_what_equal_shares_selects_and_conserves_money(shares_round, coordinator, people,
                                                                       collective):
    round = shares_round(mes_completion="none")
    assert round.status == "open" and {w.envelope for w in round.wallets.all()} == {D("0.00")}
    big, small, unloved = (open_bucket(round, coordinator, title, cost)
                           for title, cost in (("Four", "300.00"), ("Bancs", "100.00"), ("Statue", "200.00")))
    for voter in people[:3]:
        services.bucket_support(bucket=big, actor=voter)
    services.bucket_support(bucket=small, actor=people[3])
    services.bucket_support(bucket=unloved, actor=people[3])
    closed = services.round_close(round=round, actor=coordinator)
    # Each voter holds 100: the three supporters pay 300 for the oven; the fourth affords the benches only.
    assert closed.results["selected"] == [big.pk, small.pk]
    statuses = dict(closed.buckets.values_list("pk", "status"))
    assert (statuses[big.pk], statuses[small.pk], statuses[unloved.pk]) == (
        BucketStatus.FUNDED, BucketStatus.FUNDED, BucketStatus.UNFUNDED)
    rows = {row["id"]: row for row in selectors.explained(closed, closed.buckets.select_related("account"))}
    assert rows[big.pk]["funded"] == D("300.00") and sum(rows[big.pk]["shares"].values()) == D("300.00")
    assert rows[unloved.pk]["selected"] is False and rows[unloved.pk]["missing"] == D("200.00")
    total = Account.objects.get(collective=collective, kind=AccountKind.ROUND)
    assert total.balance == 0 and ledger_violations(collective) == []
    assert AuditEvent.objects.filter(action="cobudget.equal_shares_computed").count() == 1
    assert services.round_close(round=closed, actor=coordinator).results == closed.results


def test_supporting_follows_the_rules_of_the_round(shares_round, coordinator, people, outsider, make_round,
                                                  make_bucket):
    round = shares_round()
    bucket = open_bucket(round, coordinator, "Four", "100.00")
    with pytest.raises(DomainError) as refused:
        services.bucket_support(bucket=bucket, actor=people[1], score=3)
    assert refused.value.code == "invalid_score"
    services.bucket_support(bucket=bucket, actor=people[1])
    services.bucket_support_withdraw(bucket=bucket, actor=people[1])
    with pytest.raises(Conflict):
        services.bucket_support_withdraw(bucket=bucket, actor=people[1])
    with pytest.raises(Forbidden):
        services.bucket_support(bucket=bucket, actor=outsider)
    with pytest.raises(Conflict) as refused:
        services.allocation_create(bucket=bucket, actor=people[1], amount="10.00")
    assert refused.value.code == "equal_shares_round"
    live = make_round(name="Live")
    with pytest.raises(Conflict) as refused:
        services.bucket_support(bucket=make_bucket(live), actor=people[1])
    assert refused.value.code == "not_equal_shares"


def test_scores_count_when_the_round_allows_them(shares_round, coordinator, people):
    round = shares_round(allow_scores=True)
    bucket = open_bucket(round, coordinator, "Four", "100.00")
    assert services.bucket_support(bucket=bucket, actor=people[0], score=5).score == 5
    assert services.bucket_support(bucket=bucket, actor=people[0], score=2).score == 2
    with pytest.raises(DomainError):
        services.bucket_support(bucket=bucket, actor=people[0], score=6)


def test_an_equal_shares_round_needs_its_total(collective, coordinator, people):
    round = services.round_create(collective=collective, actor=coordinator, name="Sans total", mode="equal_shares",
                                  participants=people)
    with pytest.raises(DomainError) as refused:
        services.round_open(round=round, actor=coordinator)
    assert refused.value.code == "total_amount"
    assert Round.objects.get(pk=round.pk).status == "draft"


def test_the_api_supports_and_explains(api, shares_round, coordinator, people, collective):
    round = shares_round(mes_completion="none")
    bucket = open_bucket(round, coordinator, "Four", "100.00")
    base = f"/api/v1/collectives/{collective.slug}"
    assert api(people[1]).post(f"{base}/buckets/{bucket.pk}/support/", {"score": 1},
                               format="json").status_code == 204
    assert api(people[1]).post(f"{base}/buckets/{bucket.pk}/support/", {"score": 4},
                               format="json").status_code == 400
    detail = api(coordinator).get(f"{base}/rounds/{round.pk}/").json()
    assert (detail["mode"], detail["total_amount"], detail["mes_completion"]) == ("equal_shares", "400.00", "none")
    api(coordinator).post(f"{base}/rounds/{round.pk}/close/")
    results = api(people[2]).get(f"{base}/rounds/{round.pk}/results/").json()["results"]
    assert results[0]["bucket"] == bucket.pk and results[0]["selected"] is True
    assert results[0]["shares"] == {str(people[1].pk): "100.00"} and results[0]["funded"] == "100.00"
    assert api(people[1]).delete(f"{base}/buckets/{bucket.pk}/support/").status_code == 409
