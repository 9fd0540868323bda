from django.apps import AppConfig


class ContribBudgetConfig(AppConfig):
    name = "contrib_budget"
    verbose_name = "contrib_budget"
