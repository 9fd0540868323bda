from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def secret_key_configured(app_configs, **kwargs):
    if settings.DEBUG or settings.SECRET_KEY_CONFIGURED:
        return []
    return [
        Error(
            "SECRET_KEY is not set: this process uses a random key, so sessions, password-reset and "
            "email-confirmation links break at every restart and between workers.",
            hint="Set SECRET_KEY in the environment to a long random string.",
            id="contrib_budget.E001",
        )
    ]
