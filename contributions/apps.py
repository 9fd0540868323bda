from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContributionsConfig(AppConfig):
    name = "contributions"
    verbose_name = _("Contributions")

    def ready(self) -> None:
        # Registers the "what waits for me" providers, the notification kinds and the reminders of declarations.
        from . import notifications, reminders, selectors  # noqa: F401
