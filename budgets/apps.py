from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BudgetsConfig(AppConfig):
    name = "budgets"
    verbose_name = _("Budgets")

    def ready(self) -> None:
        # Registers the notification kinds of budgets, their dashboard panels, "what waits for me" lines and
        # audit labels.
        from . import audit, dashboard, notifications  # noqa: F401
