from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CobudgetConfig(AppConfig):
    name = "cobudget"
    verbose_name = _("Cobudget")

    def ready(self) -> None:
        # Registers the "what waits for me" providers, the notification kinds and the reminders of cobudget rounds.
        from . import notifications, reminders, selectors  # noqa: F401
