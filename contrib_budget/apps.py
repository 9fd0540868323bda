from django.apps import AppConfig


class ContribBudgetConfig(AppConfig):
    name = "contrib_budget"
    verbose_name = "contrib_budget"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
