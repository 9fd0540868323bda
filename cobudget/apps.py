from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CobudgetConfig(AppConfig):
    name = "cobudget"
    verbose_name = _("Cobudget")

    def ready(self) -> None:
        # Registers the "what waits for me" providers, notification kinds, reminders, audit redaction and
        # dashboard panel of rounds.
        from . import audit, dashboard, notifications, reminders, selectors  # noqa: F401
