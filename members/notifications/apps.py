from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "members.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # The kinds of the people's area (invitations), and the Celery tasks queued by name (contrib_budget.queue).
        from . import member_kinds, tasks  # noqa: F401
