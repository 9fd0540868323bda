from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from contrib_budget.prepared import Prepared
from contrib_budget.scopes import every_collective
from contrib_budget.tenancy import URL_KWARG

from .models import Membership, PersonalToken

# Prepared (contrib_budget.prepared): every API request runs it, and compiling it cost more than running it.
_MEMBERSHIP_BY_TOKEN = Prepared(lambda slug, key_hash: (
    Membership.objects.select_related("collective", "user")
    .filter(collective__slug=slug, user__api_tokens__key_hash=key_hash)
    .annotate(token_id=F("user__api_tokens__id"), token_expires_at=F("user__api_tokens__expires_at"),
              token_last_used_at=F("user__api_tokens__last_used_at"))
    .order_by("pk")[:1]
))


class TokenExpired(exceptions.APIException):
    """401 with `WWW-Authenticate: Token` (DRF answers 403 for AuthenticationFailed when session authentication
    comes first in the list of authentication classes, as here)."""

    status_code = 401
    default_detail = gettext_lazy("This token has expired: ask for a new one.")
    default_code = "token_expired"
    auth_header = "Token"


class PersonalTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` with any of the person's named tokens, found by the key's digest.

    An expired token is refused (401). Its last use is written at most once a minute, by an UPDATE that
    finds nothing to do when another request wrote it first.

    On a collective's endpoint the token is read with its person's membership of that collective, in one query;
    `membership` keeps it for the view (contrib_budget.api.CollectiveScopedMixin). When that finds nothing, the
    token alone is looked up, which tells an unknown token from a person who is not a member."""

    model = PersonalToken
    collective_slug: str | None = None
    membership: Membership | None = None

    def authenticate(self, request):
        self.collective_slug = (request.parser_context or {}).get("kwargs", {}).get(URL_KWARG)
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        key_hash = PersonalToken.hash_key(key)
        token = self._token_with_membership(key_hash) if self.collective_slug else None
        if token is None:
            token = PersonalToken.objects.select_related("user").filter(key_hash=key_hash).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        now = timezone.now()
        if token.is_expired(now):
            raise TokenExpired()
        stale = now - PersonalToken.LAST_USED_PRECISION
        if token.last_used_at is None or token.last_used_at < stale:
            PersonalToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=token.pk).update(
                last_used_at=now
            )
        return token.user, token

    def _token_with_membership(self, key_hash: str) -> PersonalToken | None:
        with every_collective():  # which collective the person may enter is what this finds out
            found = _MEMBERSHIP_BY_TOKEN.rows(slug=self.collective_slug, key_hash=key_hash)
        if not found:
            return None
        membership = found[0]
        self.membership = membership
        return PersonalToken(pk=membership.token_id, user=membership.user, key_hash=key_hash,
                             expires_at=membership.token_expires_at, last_used_at=membership.token_last_used_at)
