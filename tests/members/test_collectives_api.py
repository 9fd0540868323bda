from members.models import Collective, Membership


def test_creator_of_a_collective_becomes_its_coordinator(api, member):
    response = api(member).post(
        "/api/v1/collectives/", {"name": "Tiers-lieu", "slug": "tiers-lieu", "currency": "EUR"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["my_roles"] == ["coordinator"]
    membership = Membership.objects.get(collective__slug="tiers-lieu", user=member)
    assert membership.roles == ["coordinator"]


def test_unknown_currency_and_taken_slug_are_field_errors_and_nothing_is_saved(api, member, collective):
    before = Collective.objects.count()
    response = api(member).post(
        "/api/v1/collectives/", {"name": "X", "slug": collective.slug, "currency": "XYZ"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] and body["detail"]
    assert set(body["fields"]) >= {"slug", "currency"}
    assert Collective.objects.count() == before


def test_outsider_gets_404_on_a_collective(api, outsider, collective):
    assert api(outsider).get(f"/api/v1/collectives/{collective.slug}/").status_code == 404


def test_the_address_of_a_collective_cannot_change_through_the_api(api, coordinator, collective):
    url = f"/api/v1/collectives/{collective.slug}/"
    refused = api(coordinator).patch(url, {"slug": "ailleurs", "name": "Autre nom"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "slug_locked" and "slug" in refused.json()["fields"]
    collective.refresh_from_db()
    assert (collective.slug, collective.name) == ("la-fabrique", "La Fabrique")
    same = api(coordinator).patch(url, {"slug": "la-fabrique", "name": "La Fabrique !"}, format="json")
    assert same.status_code == 200 and same.json()["name"] == "La Fabrique !"
