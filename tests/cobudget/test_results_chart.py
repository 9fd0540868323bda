"""A round's results chart each bucket's funding against its minimum and maximum, with the figures as a table."""

from django.test import Client

from cobudget import services


def results(user, round) -> Client:
    client = Client()
    client.force_login(user)
    return client.get(f"/c/{round.collective.slug}/cobudget/{round.pk}/results/", HTTP_ACCEPT_LANGUAGE="en")


def test_each_bucket_is_charted_against_its_goals_even_after_its_refund(make_round, make_bucket, coordinator,
                                                                        member, people):
    round = make_round()
    funded = make_bucket(round, title="Jardin", min_goal="100.00", max_goal="160.00")
    refunded = make_bucket(round, title="Four", min_goal="150.00")
    withdrawn = make_bucket(round, title="Retiré", min_goal="20.00")
    for giver, amount in ((people[1], "100.00"), (people[2], "20.00")):
        services.allocation_create(bucket=funded, actor=giver, amount=amount)
    services.allocation_create(bucket=refunded, actor=people[3], amount="40.00")
    services.bucket_cancel(bucket=withdrawn, actor=coordinator)
    services.round_close(round=round, actor=coordinator)
    response = results(member, round)
    assert response.status_code == 200
    charted = {bucket.title: bucket for bucket in response.context["charted"]}
    assert set(charted) == {"Jardin", "Four"}  # a withdrawn bucket raised nothing to show
    jardin, four = charted["Jardin"].chart, charted["Four"].chart
    assert jardin.description == "Raised €120.00; minimum €100.00 (120%); maximum €160.00 (75%)."
    assert [(m.label, m.x) for m in jardin.bars[0].markers] == [("minimum", 62.5), ("maximum", 100.0)]
    assert four.description == "Raised €40.00; goal €150.00 (26%)."
    html = response.content.decode()
    assert f'id="bucket-{funded.pk}-funding"' in html and 'role="img"' in html
    table = html[html.index('id="funding-goals-table"'):]
    assert ('<th scope="row">Jardin</th><td>€120.00</td><td>€100.00</td><td>€160.00</td><td>120%</td>'
            in table)
    assert '<th scope="row">Four</th><td>€40.00</td><td>€150.00</td><td>€150.00</td><td>26%</td>' in table


def test_a_round_without_buckets_has_no_chart_and_outsiders_see_nothing(make_round, member, outsider):
    round = make_round()
    response = results(member, round)
    assert response.status_code == 200 and 'id="funding-goals"' not in response.content.decode()
    assert results(outsider, round).status_code == 404
