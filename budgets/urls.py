from django.urls import path

from . import api, views

collective_urlpatterns = [
    path("budgets/", views.budget_list, name="budget_list"),
    path("budgets/new/", views.budget_create, name="budget_create"),
    path("budgets/<int:budget_id>/", views.budget_detail, name="budget_detail"),
    path("budgets/<int:budget_id>/edit/", views.budget_edit, name="budget_edit"),
    path("budgets/<int:budget_id>/fundings/new/", views.funding_create, name="funding_create"),
    path("budgets/<int:budget_id>/fundings/<int:funding_id>/receive/", views.funding_receive,
         name="funding_receive"),
    path("budgets/<int:budget_id>/fundings/<int:funding_id>/cancel/", views.funding_cancel,
         name="funding_cancel"),
    path("budgets/<int:budget_id>/envelopes/new/", views.envelope_create, name="envelope_create"),
    path("budgets/<int:budget_id>/tasks/new/", views.task_create, name="task_create"),
    path("periods/<int:period_id>/payouts/", views.period_payouts, name="period_payouts"),
    path("payouts/", views.payouts, name="payouts"),
    path("payouts/mark-paid/", views.payouts_mark_paid, name="payouts_mark_paid"),
]


def _actions(viewset, **actions):
    return viewset.as_view(actions)


api_urlpatterns = [
    path("budgets/", _actions(api.BudgetViewSet, get="list", post="create"), name="api-budgets"),
    path("budgets/<int:budget_id>/", _actions(api.BudgetViewSet, get="retrieve", patch="partial_update"),
         name="api-budget"),
    path("budgets/<int:budget_id>/fundings/", _actions(api.FundingViewSet, get="list", post="create"),
         name="api-fundings"),
    path("budgets/<int:budget_id>/fundings/<int:funding_id>/", _actions(api.FundingViewSet, get="retrieve"),
         name="api-funding"),
    path("budgets/<int:budget_id>/fundings/<int:funding_id>/receive/", _actions(api.FundingViewSet, post="receive"),
         name="api-funding-receive"),
    path("budgets/<int:budget_id>/fundings/<int:funding_id>/cancel/", _actions(api.FundingViewSet, post="cancel"),
         name="api-funding-cancel"),
    path("fundings/<int:funding_id>/", _actions(api.CollectiveFundingViewSet, get="retrieve"),
         name="api-collective-funding"),
    path("fundings/<int:funding_id>/receive/", _actions(api.CollectiveFundingViewSet, post="receive"),
         name="api-collective-funding-receive"),
    path("fundings/<int:funding_id>/cancel/", _actions(api.CollectiveFundingViewSet, post="cancel"),
         name="api-collective-funding-cancel"),
    path("budgets/<int:budget_id>/envelopes/", _actions(api.EnvelopeViewSet, get="list", post="create"),
         name="api-envelopes"),
    path("budgets/<int:budget_id>/envelopes/<int:envelope_id>/",
         _actions(api.EnvelopeViewSet, get="retrieve", patch="partial_update"), name="api-envelope"),
    path("budgets/<int:budget_id>/tasks/", _actions(api.TaskViewSet, get="list", post="create"), name="api-tasks"),
    path("budgets/<int:budget_id>/tasks/<int:task_id>/",
         _actions(api.TaskViewSet, get="retrieve", patch="partial_update"), name="api-task"),
    path("budgets/<int:budget_id>/periods/", _actions(api.BudgetPeriodViewSet, get="list"), name="api-budget-periods"),
    path("periods/<int:period_id>/", _actions(api.PeriodViewSet, get="retrieve"), name="api-period"),
    path("periods/<int:period_id>/payouts/", _actions(api.PeriodPayoutViewSet, get="list"),
         name="api-period-payouts"),
    path("payouts/", _actions(api.PayoutViewSet, get="list"), name="api-payouts"),
    path("payouts/mark-paid/", _actions(api.PayoutViewSet, post="bulk_mark_paid"), name="api-payouts-mark-paid"),
    path("payouts/<int:payout_id>/", _actions(api.PayoutViewSet, get="retrieve"), name="api-payout"),
    path("payouts/<int:payout_id>/mark-paid/", _actions(api.PayoutViewSet, post="mark_paid"),
         name="api-payout-mark-paid"),
]
