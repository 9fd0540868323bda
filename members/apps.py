from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members")

    def ready(self) -> None:
        # Registers the Celery tasks the services queue by name (contrib_budget.queue).
        from . import tasks  # noqa: F401
