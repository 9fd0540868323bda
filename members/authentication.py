from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .models import PersonalToken


class PersonalTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` with any of the person's named tokens, found by the key's digest."""

    model = PersonalToken

    def authenticate_credentials(self, key):
        token = (
            PersonalToken.objects.select_related("user").filter(key_hash=PersonalToken.hash_key(key)).first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
