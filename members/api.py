from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from contrib_budget.api import (
    CollectiveScopedMixin,
    CollectiveScopeMixin,
    ModelSerializer,
    SingleLineField,
    StrictCharField,
)
from contrib_budget.errors import DomainError
from contrib_budget.schema import ErrorSerializer

from . import login_limits, selectors, services
from .bank import BIC_TYPED_MAX, IBAN_TYPED_MAX
from .models import HOLDER_MAX, Collective, Invitation, Membership, Role
from .notifications.api import CollectiveRefSerializer
from .permissions import MANAGE_COLLECTIVE, MANAGE_MEMBERS

ERROR_RESPONSE = ErrorSerializer


class CollectiveSerializer(ModelSerializer):
    my_roles = serializers.SerializerMethodField()
    # The account the collective pays from (coordinators set it): checked and normalised by members.bank.
    bank_iban = SingleLineField(required=False, allow_blank=True, max_length=IBAN_TYPED_MAX,
                                help_text=gettext_lazy("A SEPA IBAN; spaces and lower case are accepted."))
    bank_bic = SingleLineField(required=False, allow_blank=True, max_length=BIC_TYPED_MAX,
                               help_text=gettext_lazy("Derived from the IBAN when its bank is known."))
    bank_holder = SingleLineField(required=False, allow_blank=True, max_length=HOLDER_MAX)

    class Meta:
        model = Collective
        fields = ["id", "name", "slug", "currency", "locale", "timezone", "description", "bank_iban", "bank_bic",
                  "bank_holder", "my_roles"]
        read_only_fields = ["id"]

    def get_my_roles(self, collective) -> list[str]:
        return getattr(collective, "my_roles", None) or []


class CollectiveViewSet(
    CollectiveScopeMixin, mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin, viewsets.GenericViewSet,
):
    """My collectives; create one (I become its coordinator); read and edit one."""

    serializer_class = CollectiveSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "collective_slug"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Collective.objects.none()
        mine = selectors.memberships_of(self.request.user).values("collective_id")
        return Collective.objects.filter(pk__in=mine)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if "collective_slug" in kwargs:
            membership = CollectiveScopedMixin.resolve(request, kwargs["collective_slug"])
            self.enter_collective_scope(membership.collective, membership)
            if self.action == "partial_update" and not membership.has_role(*MANAGE_COLLECTIVE.roles):
                raise exceptions.PermissionDenied()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(selectors.memberships_of(request.user))
        collectives = []
        for membership in page:
            membership.collective.my_roles = membership.roles
            collectives.append(membership.collective)
        return self.get_paginated_response(self.get_serializer(collectives, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        collective = request.membership.collective
        collective.my_roles = request.membership.roles
        return Response(self.get_serializer(collective).data)

    def perform_create(self, serializer):
        serializer.instance = services.collective_create(creator=self.request.user, **serializer.validated_data)
        serializer.instance.my_roles = [Role.COORDINATOR.value]

    def partial_update(self, request, *args, **kwargs):
        serializer = self.get_serializer(request.membership.collective, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        collective = services.collective_update(
            collective=request.membership.collective, actor=request.user, **serializer.validated_data
        )
        collective.my_roles = request.membership.roles
        return Response(self.get_serializer(collective).data)


class RoleListField(serializers.ListField):
    """A list of roles whose errors read as one flat list: {"roles": ["“boss” is not a valid choice."]}."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.ChoiceField(choices=Role.choices), allow_empty=False, **kwargs)

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            if isinstance(error.detail, dict):
                raise serializers.ValidationError([m for messages in error.detail.values() for m in messages]) from None
            raise


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.display_name", read_only=True)
    roles = RoleListField()

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "roles", "joined_at"]
        read_only_fields = ["id", "joined_at"]


class InvitationResultSerializer(serializers.Serializer):
    invitation = serializers.IntegerField()
    email = serializers.EmailField()
    roles = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField()


class MemberViewSet(CollectiveScopedMixin, viewsets.ModelViewSet):
    """The members of a collective. Coordinators add, change roles and remove; anyone may leave."""

    serializer_class = MemberSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    roles_by_action = {"create": MANAGE_MEMBERS.roles, "partial_update": MANAGE_MEMBERS.roles}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return Membership.objects.of(self.collective).select_related("user").order_by("user__email")

    @extend_schema(responses={202: InvitationResultSerializer, 400: ERROR_RESPONSE, 403: ERROR_RESPONSE,
                              404: ERROR_RESPONSE})
    def create(self, request, *args, **kwargs):
        """Invite someone by email address. Known or not, the answer is the same 202 with the invitation: the
        person becomes a member only by accepting it (POST /api/v1/me/invitations/<id>/accept/ or the link)."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = services.member_add(
            collective=self.collective, actor=request.user,
            email=serializer.validated_data["user"]["email"], roles=serializer.validated_data["roles"],
        )
        body = {"invitation": invitation.pk, "email": invitation.email, "roles": invitation.roles,
                "expires_at": invitation.expires_at}
        return Response(InvitationResultSerializer(body).data, status=status.HTTP_202_ACCEPTED)

    def partial_update(self, request, *args, **kwargs):
        membership = self.get_object()
        serializer = self.get_serializer(membership, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "roles" not in serializer.validated_data:
            raise DomainError(_("Only roles can be changed."), "invalid",
                              fields={"roles": [_("This field is required.")]})
        membership = services.membership_set_roles(
            membership=membership, actor=request.user, roles=serializer.validated_data["roles"]
        )
        return Response(self.get_serializer(membership).data)

    def destroy(self, request, *args, **kwargs):
        membership = self.get_object()
        services.membership_remove(membership=membership, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyInvitationSerializer(serializers.ModelSerializer):
    collective = CollectiveRefSerializer(read_only=True)
    invited_by = serializers.CharField(source="invited_by.display_name", read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "collective", "roles", "invited_by", "created_at", "expires_at"]


@extend_schema(tags=["me"])
class MyInvitationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The pending invitations addressed to me (my login address or a verified address); accept or decline."""

    serializer_class = MyInvitationSerializer
    queryset = Invitation.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.invitations_pending_for(self.request.user)

    @extend_schema(request=None, responses={200: CollectiveSerializer, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Join the collective: the answer is the collective with my roles in it."""
        membership = services.invitation_accept(user=request.user, invitation_id=int(pk))
        collective = membership.collective
        collective.my_roles = membership.roles
        return Response(CollectiveSerializer(collective).data)

    @extend_schema(request=None, responses={204: None, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE})
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        """Say no: nobody joins and the invitation is no longer pending."""
        services.invitation_decline(user=request.user, invitation_id=int(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = StrictCharField(style={"input_type": "password"}, trim_whitespace=False, max_length=4096)
    otp = SingleLineField(required=False, default="", allow_blank=True, max_length=20,
                          help_text=gettext_lazy("The current code of your authenticator app, "
                                                 "required when two-factor authentication is on."))
    name = SingleLineField(required=False, default="", allow_blank=True, max_length=100,
                           help_text=gettext_lazy("A name for the token; a new token replaces your token "
                                                  "of the same name. Default: after the client (User-Agent)."))


class ObtainTokenView(APIView):
    """Exchange an email and password (and the current TOTP code in `otp` when two-factor authentication
    is on) for a personal API token (10 requests a minute per address). Only a digest of the token is kept.
    Failed attempts count in the same limit as the web login: past it (by default 5 failures in 5 minutes for
    an account), even the right password gets 429 `too_many_attempts` for a while. As on the website, an account
    whose email address is not confirmed yet gets no token (403 `email_not_verified`). A token replaces the
    person's token of the same name (`name`, default after the User-Agent), and expires after
    PERSONAL_TOKEN_DAYS when that is set."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_token"

    def get_authenticate_header(self, request) -> str:
        # Wrong credentials answer 401 with this challenge, as the schema says, not 403.
        return "Token"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: ERROR_RESPONSE, 401: ERROR_RESPONSE, 429: ERROR_RESPONSE,
            403: OpenApiResponse(ERROR_RESPONSE, description=(
                "The password is right but the email address is not confirmed yet (`email_not_verified`): "
                "as on the website, a token is given once it is (when ACCOUNT_EMAIL_VERIFICATION is mandatory).")),
        },
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = login_limits.authenticate(request._request, email=data["email"], password=data["password"])
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(_("Unable to log in with these credentials."))
        # As the web login: not before the address is confirmed (checked before a two-factor code is counted).
        services.token_email_check(user=user, email=data["email"])
        with login_limits.second_factor_attempt(request._request, user=user, code=data["otp"]):
            _token, key = services.token_obtain(user=user, otp=data["otp"], name=data["name"],
                                                client=request.headers.get("User-Agent", ""))
        return Response({"token": key})
