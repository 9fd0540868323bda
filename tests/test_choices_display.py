"""`get_<field>_display()` of collective-owned models (contrib_budget.models.CollectiveOwned): the row's label, in
the active language, from a dict kept per field."""

from django.utils import translation

from contributions.models import Contribution, ContributionStatus


def test_the_label_of_the_value_in_the_active_language():
    declaration = Contribution(status=ContributionStatus.PENDING)
    with translation.override("en"):
        assert declaration.get_status_display() == "pending review"
    with translation.override("fr"):
        assert declaration.get_status_display() == "en attente de revue"
    declaration.status = ContributionStatus.ADJUSTED
    with translation.override("en"):
        assert declaration.get_status_display() == "adjusted"


def test_a_value_without_a_choice_shows_as_itself():
    assert Contribution(status="archived").get_status_display() == "archived"
