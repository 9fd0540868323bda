from rest_framework.authentication import TokenAuthentication

from .models import PersonalToken


class PersonalTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` with any of the person's named tokens."""

    model = PersonalToken
