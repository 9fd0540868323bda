"""The cobudget API: rounds, their wallets, buckets and allocations (thin: services do the work)."""

from django.db.models import Prefetch
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from budgets.models import MONEY
from contrib_budget.api import CollectiveScopedMixin, DecimalField, ModelSerializer, SingleLineField
from contrib_budget.errors import DomainError, NotFound
from contrib_budget.money import MAX_ALLOCATION, MAX_BUCKET_GOAL, MAX_ENVELOPE
from contrib_budget.text import parse_id
from members.models import display_name_of

from . import delegation_api, selectors, services
from .models import Bucket, BucketStatus, BudgetLine, Round
from .permissions import APPROVE_BUCKETS, MANAGE_ROUNDS

MONEY_FIELD = {"max_digits": MONEY["max_digits"], "decimal_places": MONEY["decimal_places"]}


class RoundSerializer(ModelSerializer):
    participants = serializers.ListField(
        child=serializers.IntegerField(), required=False, write_only=True,
        help_text="User ids; empty: every holder of the member role when the round opens.",
    )
    manual_envelopes = serializers.DictField(child=DecimalField(max_value=MAX_ENVELOPE, **MONEY_FIELD), required=False)

    class Meta:
        model = Round
        fields = [
            "id", "name", "description", "guidelines", "status",
            "proposals_open_at", "proposals_close_at", "funding_opens_at", "funding_closes_at",
            "envelope_policy", "envelope_amount", "manual_envelopes", "weight_from", "weight_to",
            "envelope_floor", "envelope_cap", "participants", "max_per_member_per_bucket", "allow_retract",
            "hide_allocations_until_close", "bucket_approval_required", "min_carriers", "partial_policy",
            "partial_threshold_percent", "leftover_policy", "overallocation_mode", "funded_from_pool",
            "mode", "total_amount", "allow_scores", "mes_completion", "tie_rule",
            "redistribution_hours", "redistribute_unspent", "redistribution_started_at", "redistribution_closes_at",
            "template", "occurrence",
            "created_at", "opened_at", "closed_at", "settled_at",
        ]
        read_only_fields = ["id", "status", "created_at", "opened_at", "closed_at", "settled_at",
                            "redistribution_started_at", "redistribution_closes_at", "template", "occurrence"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["participants"] = sorted(p.pk for p in instance.participants.all())
        return data


class SupportSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5, default=1,
                                     help_text="1 to 5 when the round allows scores; else 1.")


class ResultSerializer(serializers.Serializer):
    """A bucket at the close; for an Equal Shares round, why it was selected or not, with its figures."""

    bucket = serializers.IntegerField(source="id")
    title = serializers.CharField()
    status = serializers.CharField()
    cost = serializers.DecimalField(source="min_goal", **MONEY_FIELD)
    funded = serializers.DecimalField(**MONEY_FIELD)
    selected = serializers.BooleanField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    supporters = serializers.ListField(child=serializers.IntegerField())
    shares = serializers.DictField(child=serializers.DecimalField(**MONEY_FIELD),
                                   help_text="What each supporter paid (user id → amount).")
    missing = serializers.DecimalField(**MONEY_FIELD, allow_null=True,
                                       help_text="For a bucket left out: how much more support it needed.")
    given_on_behalf = delegation_api.GivenOnBehalfSerializer(many=True)


class WalletSerializer(serializers.Serializer):
    round = serializers.IntegerField()
    envelope = serializers.DecimalField(**MONEY_FIELD)
    balance = serializers.DecimalField(**MONEY_FIELD)
    allocated = serializers.DecimalField(**MONEY_FIELD)
    delegated_to = delegation_api.GivenSerializer(allow_null=True)
    delegated_wallets = delegation_api.ReceivedSerializer(many=True)


class PoolSerializer(serializers.Serializer):
    balance = serializers.DecimalField(**MONEY_FIELD, help_text="What closed rounds returned to the pool.")
    currency = serializers.CharField(help_text="The collective's currency (ISO 4217).")


class RoundViewSet(CollectiveScopedMixin, mixins.ListModelMixin, mixins.CreateModelMixin,
                   mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Cobudget rounds. Coordinators create, set up, open and close them."""

    queryset = Round.objects.none()  # the model, for the schema; get_queryset scopes to the collective
    serializer_class = RoundSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    roles_by_action = {action: MANAGE_ROUNDS.roles for action in ("create", "partial_update", "open", "close", "pool")}

    def get_queryset(self):
        return Round.objects.of(self.collective).prefetch_related("participants").order_by("-created_at", "-id")

    def perform_create(self, serializer):
        serializer.instance = services.round_create(
            collective=self.collective, actor=self.request.user, **serializer.validated_data
        )

    def partial_update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        round = services.round_update(round=serializer.instance, actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(round).data)

    @extend_schema(request=None, responses=RoundSerializer)
    @action(detail=True, methods=["post"])
    def open(self, request, *args, **kwargs):
        round = services.round_open(round=self.get_object(), actor=request.user)
        return Response(self.get_serializer(round).data)

    @extend_schema(request=None, responses=RoundSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, *args, **kwargs):
        round = services.round_close(round=self.get_object(), actor=request.user)
        return Response(self.get_serializer(round).data)

    @extend_schema(
        responses=PoolSerializer,
        description="Coordinators only: what closed rounds returned from wallets to the collective's cobudget "
                    "pool and no round has drawn yet (a new round can fund its envelopes from it).",
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def pool(self, request, *args, **kwargs):
        body = {"balance": selectors.pool_balance(self.collective), "currency": self.collective.currency}
        return Response(PoolSerializer(body).data)

    @extend_schema(responses=ResultSerializer(many=True))
    @action(detail=True, methods=["get"])
    def results(self, request, *args, **kwargs):
        """Every bucket of the round with its outcome; an Equal Shares round explains each (empty before it
        closes)."""
        round = self.get_object()
        page = self.paginate_queryset(selectors.results_buckets(round))
        return self.get_paginated_response(ResultSerializer(selectors.explained(round, page), many=True).data)

    @extend_schema(responses=WalletSerializer)
    @action(detail=True, methods=["get"])
    def wallet(self, request, *args, **kwargs):
        round = self.get_object()
        wallet = selectors.wallet_of(round, request.user)
        if wallet is None:
            raise NotFound(_("You have no wallet in this round."), "no_wallet")
        body = {"round": round.pk, "envelope": wallet.envelope, "balance": wallet.account.balance,
                "allocated": selectors.wallet_allocated(wallet),
                **delegation_api.wallet_delegations(round, request.user)}
        return Response(WalletSerializer(body).data)


class BudgetLineSerializer(serializers.Serializer):
    description = SingleLineField(max_length=200, required=False, allow_blank=True)
    min_amount = DecimalField(max_value=MAX_BUCKET_GOAL, **MONEY_FIELD)
    max_amount = DecimalField(max_value=MAX_BUCKET_GOAL, **MONEY_FIELD, required=False, allow_null=True)


# Rendering only, shared by every bucket of a list rather than built again for each (DRF deep-copies its fields).
_MONEY = serializers.DecimalField(**MONEY_FIELD)
_LINES = BudgetLineSerializer(many=True)


class BucketSerializer(ModelSerializer):
    round = serializers.PrimaryKeyRelatedField(queryset=Round.objects.none())
    carriers = serializers.ListField(child=serializers.IntegerField(), required=False, write_only=True,
                                     help_text="User ids of the co-carriers; the creator always carries.")
    min_goal = DecimalField(max_value=MAX_BUCKET_GOAL, **MONEY_FIELD, required=False)
    max_goal = DecimalField(max_value=MAX_BUCKET_GOAL, **MONEY_FIELD, required=False, allow_null=True)
    budget_lines = BudgetLineSerializer(many=True, required=False, write_only=True)
    funded_amount = serializers.SerializerMethodField()
    funders_count = serializers.SerializerMethodField()
    my_allocation = serializers.SerializerMethodField()
    status_at_close = serializers.ChoiceField(
        choices=BucketStatus.choices, allow_blank=True, read_only=True,
        help_text="The status the close found the bucket in; empty until the round closes.")

    class Meta:
        model = Bucket
        fields = [
            "id", "round", "title", "description", "image", "status", "carriers", "min_goal", "max_goal",
            "budget_lines", "funded_amount", "funders_count", "my_allocation", "merged_into", "status_at_close",
            "carry_over", "carried_from", "created_at",
        ]
        read_only_fields = ["id", "status", "merged_into", "status_at_close", "carry_over", "carried_from",
                            "created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        collective = self.context.get("collective")
        if collective is not None:
            self.fields["round"].queryset = Round.objects.of(collective)
        if self.instance is not None and not isinstance(self.instance, list):
            self.fields["round"].read_only = True

    def validate(self, data):
        lines = data.get("budget_lines")
        if lines is None and "min_goal" in data:
            data["budget_lines"] = [{"description": "", "min_amount": data["min_goal"],
                                     "max_amount": data.get("max_goal")}]
        elif lines is None and "max_goal" in data:
            raise serializers.ValidationError({"min_goal": [_("Give the minimum goal with the maximum.")]})
        elif lines is not None and ("min_goal" in data or "max_goal" in data):
            raise serializers.ValidationError(
                {"budget_lines": [_("Send either budget lines or min_goal/max_goal, not both.")]})
        if self.instance is None and "budget_lines" not in data:
            raise serializers.ValidationError({"min_goal": [_("Give a minimum goal or budget lines.")]})
        data.pop("min_goal", None)
        data.pop("max_goal", None)
        return data

    def _funding(self, bucket) -> selectors.BucketFunding:
        funding = self.context.get("funding", {})
        if bucket.pk not in funding:
            funding.update(selectors.funding_by_bucket([bucket], self.context["request"].user))
        return funding[bucket.pk]

    def get_funded_amount(self, bucket) -> str:
        return _MONEY.to_representation(self._funding(bucket).funded_amount)

    def get_funders_count(self, bucket) -> int | None:
        if not selectors.allocations_visible(bucket.round):
            return None
        return self._funding(bucket).funders_count

    def get_my_allocation(self, bucket) -> str:
        return _MONEY.to_representation(self._funding(bucket).my_amount)

    def to_representation(self, bucket):
        data = super().to_representation(bucket)
        data["carriers"] = selectors.carrier_ids(bucket)
        data["budget_lines"] = _LINES.to_representation(bucket.lines.all())
        # Media files are not public: the image is served by the page that checks who may see the bucket.
        data["image"] = None
        if bucket.image:
            slug = (self.context.get("collective") or bucket.collective).slug
            data["image"] = self.context["request"].build_absolute_uri(
                reverse("cobudget_bucket_image", args=[slug, bucket.pk]))
        return data


class AllocationRequestSerializer(serializers.Serializer):
    amount = DecimalField(min_value=-MAX_ALLOCATION, max_value=MAX_ALLOCATION, **MONEY_FIELD)
    round = serializers.IntegerField(required=False, help_text="Optional: the round the allocation is meant for.")
    on_behalf_of = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1,
        help_text="Optional: the user id of the participant whose wallet gives, as their delegate.")


class AllocationResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="allocation.pk")
    bucket = serializers.IntegerField(source="allocation.bucket_id")
    requested = serializers.DecimalField(**MONEY_FIELD)
    amount = serializers.DecimalField(**MONEY_FIELD)
    trimmed = serializers.BooleanField()
    message = serializers.CharField()
    funded_amount = serializers.DecimalField(**MONEY_FIELD)
    wallet_balance = serializers.DecimalField(**MONEY_FIELD)


class FunderSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    name = serializers.CharField()
    amount = serializers.DecimalField(**MONEY_FIELD)
    given_by_delegates = delegation_api.GivenByDelegateSerializer(many=True)


class MergeSerializer(serializers.Serializer):
    into = serializers.IntegerField()


class BucketViewSet(CollectiveScopedMixin, mixins.ListModelMixin, mixins.CreateModelMixin,
                    mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Buckets of the collective's rounds; `?round=<id>` filters. Participants propose, coordinators approve."""

    queryset = Bucket.objects.none()  # the model, for the schema; get_queryset scopes to the collective
    serializer_class = BucketSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    roles_by_action = {"approve": APPROVE_BUCKETS.roles}

    def get_object(self):
        if self.action == "allocations" and self.request.method == "POST":
            # The service locks and reads again what an allocation needs: the bucket is looked up only to 404
            # on one the person may not see.
            bucket_id = parse_id(self.kwargs[self.lookup_url_kwarg or self.lookup_field])
            bucket = bucket_id and selectors.bucket_visible_to(self.collective.pk, bucket_id, self.request.user.pk)
            if not bucket:
                raise Http404(f"No {Bucket._meta.object_name} matches the given query.")
            self.check_object_permissions(self.request, bucket)
            return bucket
        return super().get_object()

    def get_queryset(self):
        # The lines' queryset is given so that the prefetch does not build a scoped query for every bucket.
        queryset = (selectors.with_carrier_ids(Bucket.objects.of(self.collective)).select_related("account", "round")
                    .prefetch_related(Prefetch("lines", queryset=BudgetLine.objects.of(self.collective)))
                    .order_by("round_id", "created_at", "id"))
        queryset = selectors.buckets_visible_to(queryset, self.request.user)
        if self.action == "list":
            round_id = self.request.query_params.get("round")
            if round_id is not None:
                if parse_id(round_id) is None:
                    raise DomainError(_("The round filter must be a round id."), "invalid",
                                      fields={"round": [_("A round id.")]})
                queryset = queryset.filter(round_id=parse_id(round_id))
        return queryset

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["collective"] = getattr(self, "collective", None)
        context["funding"] = {}
        return context

    @extend_schema(parameters=[OpenApiParameter("round", int, description="Only the buckets of this round")])
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = self.get_serializer_context()
        context["funding"] = selectors.funding_by_bucket(page, request.user)
        return self.get_paginated_response(BucketSerializer(page, many=True, context=context).data)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        carriers = data.get("carriers", [])
        bucket = services.bucket_create(
            round=data["round"], actor=request.user, title=data["title"], description=data.get("description", ""),
            lines=data["budget_lines"], carriers=carriers, image=data.get("image"),
        )
        return Response(self.get_serializer(bucket).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        bucket = services.bucket_update(
            bucket=serializer.instance, actor=request.user, lines=data.pop("budget_lines", None),
            carriers=data.pop("carriers", None), **data,
        )
        return Response(self.get_serializer(bucket).data)

    def _respond(self, bucket):
        bucket = self.get_queryset().get(pk=bucket.pk)
        return Response(self.get_serializer(bucket).data)

    @extend_schema(request=None, responses=BucketSerializer)
    @action(detail=True, methods=["post"])
    def propose(self, request, *args, **kwargs):
        return self._respond(services.bucket_propose(bucket=self.get_object(), actor=request.user))

    @extend_schema(request=None, responses=BucketSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        return self._respond(services.bucket_approve(bucket=self.get_object(), actor=request.user))

    @extend_schema(request=None, responses=BucketSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        return self._respond(services.bucket_cancel(bucket=self.get_object(), actor=request.user))

    @extend_schema(request=MergeSerializer, responses=BucketSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, *args, **kwargs):
        bucket = self.get_object()
        serializer = MergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        into = self.get_queryset().filter(pk=serializer.validated_data["into"]).first()
        if into is None:
            raise DomainError(_("No such bucket to merge into."), "invalid", fields={"into": [_("Unknown bucket.")]})
        return self._respond(services.bucket_merge(bucket=bucket, into=into, actor=request.user))

    @extend_schema(methods=["POST"], request=SupportSerializer, responses={204: None})
    @extend_schema(methods=["DELETE"], request=None, responses={204: None})
    @action(detail=True, methods=["post", "delete"])
    def support(self, request, *args, **kwargs):
        """In an Equal Shares round, a participant supports the bucket (with a score if the round allows scores),
        or takes the support back, while funding is open."""
        bucket = self.get_object()
        if request.method == "DELETE":
            services.bucket_support_withdraw(bucket=bucket, actor=request.user)
        else:
            serializer = SupportSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            services.bucket_support(bucket=bucket, actor=request.user, score=serializer.validated_data["score"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], responses=FunderSerializer(many=True))
    @extend_schema(methods=["POST"], request=AllocationRequestSerializer, responses={201: AllocationResultSerializer})
    @action(detail=True, methods=["get", "post"])
    def allocations(self, request, *args, **kwargs):
        bucket = self.get_object()
        if request.method == "POST":
            serializer = AllocationRequestSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            bucket.collective = self.collective
            result = services.allocation_create(
                bucket=bucket, actor=request.user, amount=serializer.validated_data["amount"],
                round_id=serializer.validated_data.get("round"),
                on_behalf_of=delegation_api.on_behalf_of_member(self.collective, serializer.validated_data),
            )
            return Response(AllocationResultSerializer(result).data, status=status.HTTP_201_CREATED)
        # Until the round shows who gave what, a person reads only their own line.
        hidden = not selectors.allocations_visible(bucket.round)
        rows = self.paginate_queryset(selectors.funders_of_bucket(
            bucket, only_user_id=request.user.pk if hidden else None))
        funders = [{"user": row["user_id"], "name": display_name_of(row["user__name"], row["user__email"]),
                    "amount": row["net"]} for row in rows]
        page = delegation_api.with_delegates(bucket.round, bucket.pk, funders)
        return self.get_paginated_response(FunderSerializer(page, many=True).data)

