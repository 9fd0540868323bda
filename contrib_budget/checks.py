from django.conf import settings
from django.core.checks import Error, Tags, register

from . import crypto


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


@register(Tags.security, deploy=True)
def field_encryption_keys_configured(app_configs, **kwargs):
    if settings.DEBUG or crypto.configured_keys():
        return []
    return [
        Error(
            "FIELD_ENCRYPTION_KEYS is not set: personal data (people's IBANs) is encrypted with a key derived from "
            "SECRET_KEY, so changing SECRET_KEY would make it unreadable.",
            hint="Set FIELD_ENCRYPTION_KEYS to a key made by `python -c \"from cryptography.fernet import Fernet; "
                 "print(Fernet.generate_key().decode())\"` and keep it safe: the data cannot be read without it.",
            id="contrib_budget.E002",
        )
    ]


@register(Tags.security)
def field_encryption_keys_valid(app_configs, **kwargs):
    return [
        Error(f"FIELD_ENCRYPTION_KEYS: key number {position} is not a Fernet key.",
              hint="A Fernet key is 32 bytes in url-safe base64 (44 characters ending with “=”).",
              id="contrib_budget.E003")
        for position in crypto.invalid_keys()
    ]
