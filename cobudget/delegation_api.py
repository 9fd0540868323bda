"""The API of delegations in a live round: a participant lets another give from their wallet, and takes it back
(thin: services.wallet_delegate and services.wallet_delegation_revoke do the work)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from budgets.models import MONEY
from contrib_budget.api import CollectiveScopedMixin
from contrib_budget.errors import DomainError
from contrib_budget.text import MAX_ID
from members.models import Collective, Membership, User

from . import selectors, services
from .models import Round

MONEY_FIELD = {"max_digits": MONEY["max_digits"], "decimal_places": MONEY["decimal_places"]}


class GivenSerializer(serializers.Serializer):
    """Whom I delegated my wallet to (null when nobody)."""

    delegate = serializers.IntegerField(help_text="The user id of the participant who may give from my wallet.")
    delegate_name = serializers.CharField()
    created_at = serializers.DateTimeField()


class ReceivedSerializer(serializers.Serializer):
    """A wallet delegated to me, to give from, with what it holds."""

    delegator = serializers.IntegerField(help_text="The user id of the participant whose wallet I may give from.")
    delegator_name = serializers.CharField()
    balance = serializers.DecimalField(**MONEY_FIELD)
    envelope = serializers.DecimalField(**MONEY_FIELD)


class DelegationStateSerializer(serializers.Serializer):
    given = GivenSerializer(allow_null=True, help_text="Whom I delegated my wallet to; null when nobody.")
    received = ReceivedSerializer(many=True, help_text="The wallets delegated to me, with what they hold.")


class DelegateRequestSerializer(serializers.Serializer):
    delegate = serializers.IntegerField(min_value=1, max_value=MAX_ID,
                                        help_text="The user id of another participant of the round.")


class GivenByDelegateSerializer(serializers.Serializer):
    """What a delegate gave on the funder's behalf, from the funder's wallet."""

    made_by = serializers.IntegerField(help_text="The delegate who gave on the funder's behalf, from their wallet.")
    made_by_name = serializers.CharField()
    amount = serializers.DecimalField(**MONEY_FIELD)


class GivenOnBehalfSerializer(GivenByDelegateSerializer):
    """What a delegate gave to a bucket from another participant's (`user`'s) wallet."""

    user = serializers.IntegerField(help_text="Whose wallet gave.")


def on_behalf_of_member(collective: Collective, data: dict) -> User | None:
    """The member of `collective` an allocation request (`data`) asks to give on behalf of (None: nobody)."""
    user_id = data.get("on_behalf_of")
    if user_id is None:
        return None
    membership = Membership.objects.of(collective).select_related("user").filter(user_id=user_id).first()
    if membership is None:
        raise DomainError(_("No member of the collective has this id."), "invalid",
                          fields={"on_behalf_of": [_("Unknown member.")]})
    return membership.user


def with_delegates(round: Round, bucket_id: int, funders: list[dict]) -> list[dict]:
    """`funders` of a bucket (dicts with `user`), each with what delegates gave on their behalf
    (`given_by_delegates`: made_by, made_by_name, amount), in one query."""
    owners = [funder["user"] for funder in funders]
    rows = selectors.given_on_behalf(round, [bucket_id], owner_ids=owners).get(bucket_id, []) if funders else []
    for funder in funders:
        funder["given_by_delegates"] = [{"made_by": made_by, "made_by_name": name, "amount": amount}
                                        for made_by, name, owner, _owner_name, amount in rows
                                        if owner == funder["user"]]
    return funders


def wallet_delegations(round: Round, user) -> dict:
    """What the wallet of `user` in `round` shows of delegations: whom they delegated it to, and the wallets
    delegated to them."""
    return {"delegated_to": delegation_given(round, user), "delegated_wallets": delegations_received(round, user)}


def delegation_given(round: Round, user) -> dict | None:
    """Whom `user` delegated their wallet to in `round`, as the API shows it (None when nobody)."""
    given = selectors.delegation_given(round, user)
    if given is None:
        return None
    return {"delegate": given.delegate_id, "delegate_name": given.delegate.display_name,
            "created_at": given.created_at}


def delegations_received(round: Round, user) -> list[dict]:
    """The wallets delegated to `user` in `round`, as the API shows them."""
    return [{"delegator": wallet.user_id, "delegator_name": wallet.user.display_name,
             "balance": wallet.account.balance, "envelope": wallet.envelope}
            for wallet in selectors.wallets_delegated_to(round, user)]


class RoundDelegationViewSet(CollectiveScopedMixin, viewsets.ViewSet):
    """My delegation in a live round: GET what I gave and what I received; POST lets another participant give from
    my wallet until I take it back (DELETE). The money never moves: what the delegate gave stays given, what is
    left stays in my wallet. No chains: whoever holds a delegated wallet cannot delegate theirs."""

    def _round(self, round_id) -> Round:
        round = get_object_or_404(Round.objects.of(self.collective), pk=round_id)
        round.collective = self.collective
        return round

    def _state(self, round: Round, code: int = status.HTTP_200_OK) -> Response:
        body = {"given": delegation_given(round, self.request.user),
                "received": delegations_received(round, self.request.user)}
        return Response(DelegationStateSerializer(body).data, status=code)

    @extend_schema(responses=DelegationStateSerializer)
    def retrieve(self, request, collective_slug, round_id):
        return self._state(self._round(round_id))

    @extend_schema(request=DelegateRequestSerializer, responses={201: DelegationStateSerializer})
    def create(self, request, collective_slug, round_id):
        round = self._round(round_id)
        serializer = DelegateRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.wallet_delegate(round=round, actor=request.user, delegate=serializer.validated_data["delegate"])
        return self._state(round, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=DelegationStateSerializer)
    def destroy(self, request, collective_slug, round_id):
        round = self._round(round_id)
        services.wallet_delegation_revoke(round=round, actor=request.user)
        return self._state(round)
