"""The budgets API: budgets and their rate grid, fundings, envelopes, tasks, periods, closing, payouts.

Every member reads; coordinators write; accountants and coordinators mark payouts paid.
Serializers parse and render; the services decide.
"""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from contrib_budget.api import (
    CollectiveScopedMixin,
    DateField,
    DecimalField,
    ModelSerializer,
    MultiLineField,
    SingleLineField,
)
from contrib_budget.paging import IdsFirst
from members.models import Role

from . import selectors, services
from .explanations import payout_explanation
from .fundings import funding_cancel, funding_create, funding_receive
from .models import MONEY, Budget, Envelope, Funding, Payout, Period, RateLevel, Task
from .payouts import payouts_mark_paid
from .permissions import CANCEL_FUNDINGS, MANAGE_BUDGETS, PAY_PAYOUTS


def money_field(**kwargs) -> DecimalField:
    """An amount of money in the API: a string with two decimals."""
    return DecimalField(**MONEY, **kwargs)


class RateLevelSerializer(ModelSerializer):
    id = serializers.IntegerField(required=False, help_text="Give the id to keep (and rename) an existing level.")
    hourly_rate = money_field(min_value=0)

    class Meta:
        model = RateLevel
        fields = ["id", "name", "hourly_rate", "position"]
        read_only_fields = ["position"]


class BudgetSerializer(ModelSerializer):
    """`rate_levels` is read and written nested: a PATCH with `rate_levels` replaces the grid
    (levels with an `id` are kept and updated, new ones created, missing ones removed)."""

    rate_levels = RateLevelSerializer(many=True, required=False)
    amount_per_period = money_field(min_value=0, required=False, allow_null=True,
                               help_text="Null: the funded total (received + pledged) divided by the number of "
                               "periods; without `ends_on`, each period may use all the funds not granted yet.")
    received = money_field(read_only=True, source="received_total")
    pledged = money_field(read_only=True, source="pledged_total")
    granted = money_field(read_only=True, source="granted_total")
    remaining = serializers.SerializerMethodField()

    class Meta:
        model = Budget
        fields = ["id", "name", "description", "period_kind", "starts_on", "ends_on", "amount_per_period",
                  "overspend_policy", "leftover_policy", "allow_custom_rate", "required_approvals",
                  "auto_close_after_days", "rate_levels", "received", "pledged", "granted", "remaining", "created_at"]
        read_only_fields = ["id", "created_at"]

    def get_remaining(self, budget) -> str:
        remaining = budget.received_total + budget.pledged_total - budget.granted_total
        return money_field().to_representation(remaining)


class BudgetViewSet(CollectiveScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Budgets of the collective: every member reads, coordinators create and change them."""

    serializer_class = BudgetSerializer
    queryset = Budget.objects.none()
    roles_by_action = {"create": MANAGE_BUDGETS.roles, "partial_update": MANAGE_BUDGETS.roles}
    lookup_url_kwarg = "budget_id"

    def get_queryset(self):
        return selectors.budgets_with_money(self.collective)

    def _render(self, budget, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=budget.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        budget = services.budget_create(collective=self.collective, actor=request.user, **serializer.validated_data)
        return self._render(budget, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        budget = self.get_object()
        serializer = self.get_serializer(budget, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        budget = services.budget_update(budget=budget, actor=request.user, **serializer.validated_data)
        return self._render(budget)


class BudgetChildMixin(CollectiveScopedMixin):
    """A sub-resource of `/budgets/<budget_id>/`."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.budget = get_object_or_404(Budget.objects.of(self.collective), pk=kwargs["budget_id"])


class FundingSerializer(ModelSerializer):
    amount = money_field(min_value=0)

    class Meta:
        model = Funding
        fields = ["id", "source", "source_kind", "amount", "status", "received_on", "created_at", "cancelled_at",
                  "cancel_reason"]
        read_only_fields = ["id", "created_at", "cancelled_at", "cancel_reason"]


class ReceiveSerializer(serializers.Serializer):
    received_on = DateField(required=False, help_text="Defaults to today.")


class CancelSerializer(serializers.Serializer):
    reason = MultiLineField(max_length=1000, help_text="Why the funding is cancelled.")


class FundingReceiveMixin:
    """`…/receive/`: a coordinator marks a pledged funding received; `…/cancel/`: cancels a mistyped one."""

    @extend_schema(request=ReceiveSerializer, responses=FundingSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request, *args, **kwargs):
        serializer = ReceiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        funding = funding_receive(funding=self.get_object(), actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(funding).data)

    @extend_schema(request=CancelSerializer, responses=FundingSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        funding = self.get_object()
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        funding = funding_cancel(funding=funding, actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(funding).data)


class FundingViewSet(BudgetChildMixin, FundingReceiveMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     viewsets.GenericViewSet):
    """The fundings of a budget, pledged or received; coordinators add them and mark pledges received."""

    serializer_class = FundingSerializer
    queryset = Funding.objects.none()
    roles_by_action = {"create": MANAGE_BUDGETS.roles, "receive": MANAGE_BUDGETS.roles,
                       "cancel": CANCEL_FUNDINGS.roles}
    lookup_url_kwarg = "funding_id"

    def get_queryset(self):
        return Funding.objects.of(self.collective).filter(budget=self.budget)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        funding = funding_create(budget=self.budget, actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(funding).data, status=status.HTTP_201_CREATED)


class CollectiveFundingViewSet(CollectiveScopedMixin, FundingReceiveMixin, mixins.RetrieveModelMixin,
                               viewsets.GenericViewSet):
    """A funding reached without its budget: `…/fundings/<id>/` and `…/fundings/<id>/receive/`."""

    serializer_class = FundingSerializer
    queryset = Funding.objects.none()
    roles_by_action = {"receive": MANAGE_BUDGETS.roles, "cancel": CANCEL_FUNDINGS.roles}
    lookup_url_kwarg = "funding_id"

    def get_queryset(self):
        return Funding.objects.of(self.collective).select_related("budget")


class EnvelopeSerializer(ModelSerializer):
    amount = money_field(min_value=0)

    class Meta:
        model = Envelope
        fields = ["id", "name", "description", "amount", "created_at"]
        read_only_fields = ["id", "created_at"]


class EnvelopeViewSet(BudgetChildMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Envelopes (missions) of a budget, each with its own amount."""

    serializer_class = EnvelopeSerializer
    queryset = Envelope.objects.none()
    roles_by_action = {"create": MANAGE_BUDGETS.roles, "partial_update": MANAGE_BUDGETS.roles}
    lookup_url_kwarg = "envelope_id"

    def get_queryset(self):
        return Envelope.objects.of(self.collective).filter(budget=self.budget)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        envelope = services.envelope_create(budget=self.budget, actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(envelope).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        envelope = services.envelope_update(envelope=serializer.instance, actor=request.user,
                                            **serializer.validated_data)
        return Response(self.get_serializer(envelope).data)


class TaskSerializer(ModelSerializer):
    envelope = serializers.PrimaryKeyRelatedField(queryset=Envelope.objects.none())

    class Meta:
        model = Task
        fields = ["id", "envelope", "title", "description", "priority", "is_published", "is_done", "created_at"]
        read_only_fields = ["id", "created_at"]

    def get_fields(self):
        fields = super().get_fields()
        budget = self.context.get("budget")
        if budget is not None:
            fields["envelope"].queryset = Envelope.objects.of(budget.collective_id).filter(budget=budget)
        return fields


class TaskViewSet(BudgetChildMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Tasks published in the envelopes of a budget, by priority (1 high, 2 normal, 3 low).
    Members see published tasks; coordinators see and write all of them."""

    serializer_class = TaskSerializer
    queryset = Task.objects.none()
    roles_by_action = {"create": MANAGE_BUDGETS.roles, "partial_update": MANAGE_BUDGETS.roles}
    lookup_url_kwarg = "task_id"

    def get_queryset(self):
        tasks = Task.objects.of(self.collective).filter(envelope__budget=self.budget).order_by("priority", "id")
        if not self.membership.has_role(Role.COORDINATOR):
            tasks = tasks.filter(is_published=True)
        return tasks

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "budget": getattr(self, "budget", None)}

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = services.task_create(budget=self.budget, actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(task).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        task = services.task_update(task=serializer.instance, actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(task).data)


class PeriodSerializer(serializers.ModelSerializer):
    available = money_field(source="available_now", read_only=True,
                       help_text="Frozen at closing (or on entering deficit); projected while open.")
    requested = money_field(read_only=True)
    validated = money_field(read_only=True)
    granted = money_field(read_only=True)
    over = serializers.BooleanField(read_only=True, help_text="Validated requests exceed the money available.")

    class Meta:
        model = Period
        fields = ["id", "budget", "index", "starts_on", "ends_on", "status", "available", "requested", "validated",
                  "granted", "over", "closed_at", "decision"]
        read_only_fields = fields


class DecisionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["pro_rata", "amounts", "top_up"])
    amounts = serializers.DictField(child=money_field(min_value=0), required=False,
                                    help_text="kind=amounts: {contribution id: granted amount}.")
    note = MultiLineField(required=False, allow_blank=True, max_length=500)
    amount = money_field(min_value=0, required=False, help_text="kind=top_up: defaults to the gap.")
    source = SingleLineField(required=False, max_length=150)
    source_kind = SingleLineField(required=False, max_length=20)
    status = serializers.ChoiceField(choices=["pledged", "received"], required=False)
    received_on = DateField(required=False)


class CloseSerializer(serializers.Serializer):
    decision = DecisionSerializer(required=False, help_text="Required to close a period in deficit (hold policy).")


class BudgetPeriodViewSet(BudgetChildMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The periods of a budget with their money: available, requested, validated, granted."""

    serializer_class = PeriodSerializer
    queryset = Period.objects.none()

    def list(self, request, *args, **kwargs):
        # A page of periods, then its figures: the budget's other periods are never read.
        page = self.paginate_queryset(selectors.with_demand(selectors.periods_of_budget(self.budget)))
        return self.get_paginated_response(self.get_serializer(selectors.figures_of(page), many=True).data)


class PeriodViewSet(CollectiveScopedMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """One period with its money (coordinators close it: contributions.api.PeriodCloseViewSet)."""

    serializer_class = PeriodSerializer
    lookup_url_kwarg = "period_id"

    def get_queryset(self):
        return Period.objects.of(self.collective).select_related("budget")

    def retrieve(self, request, *args, **kwargs):
        return Response(self.get_serializer(selectors.period_with_figures(self.get_object())).data)


class PayoutSerializer(serializers.ModelSerializer):
    author = serializers.IntegerField(source="person_id", read_only=True)
    author_name = serializers.CharField(source="person.display_name", read_only=True)
    explanation = serializers.SerializerMethodField()
    state = serializers.CharField(read_only=True, help_text="owed | payable | sent | paid | reversed")
    requested = money_field(read_only=True)
    granted = money_field(read_only=True)
    owed = money_field(source="owed_amount", read_only=True)
    payable = money_field(source="payable_amount", read_only=True)
    withheld = money_field(read_only=True, help_text="Kept back to repay a correction of an earlier payout.")
    net = money_field(source="net_amount", read_only=True, help_text="What is paid to the person: granted - withheld.")
    reversed_amount = money_field(read_only=True, help_text="What a reversal took back (granted is then 0).")

    class Meta:
        model = Payout
        fields = ["id", "contribution", "period", "author", "author_name", "requested", "granted", "explanation",
                  "explanation_code", "explanation_params", "state", "owed", "payable", "withheld", "net", "batch",
                  "paid_on", "reference", "reversed_amount", "reversed_at", "reversal_reason"]
        read_only_fields = fields

    def get_explanation(self, payout) -> str:
        return payout_explanation(payout)


class MarkPaidSerializer(serializers.Serializer):
    paid_on = DateField(required=False, help_text="Defaults to today.")
    reference = SingleLineField(required=False, allow_blank=True, max_length=100, default="")


class BulkMarkPaidSerializer(MarkPaidSerializer):
    payouts = serializers.ListField(child=serializers.IntegerField(), allow_empty=False, max_length=1000)


class PeriodPayoutViewSet(CollectiveScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """What a closing granted, per declaration, with its explanation and state."""

    serializer_class = PayoutSerializer
    queryset = Payout.objects.none()

    def get_queryset(self):
        period = get_object_or_404(Period.objects.of(self.collective), pk=self.kwargs["period_id"])
        return selectors.payouts_of_period(period)


class PayoutViewSet(CollectiveScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Payouts of the collective (filter `?state=owed|payable|sent|paid|reversed`); accountants and coordinators
    mark them paid, one by one or in bulk (all or none)."""

    serializer_class = PayoutSerializer
    queryset = Payout.objects.none()
    roles_by_action = {"mark_paid": PAY_PAYOUTS.roles, "bulk_mark_paid": PAY_PAYOUTS.roles}
    lookup_url_kwarg = "payout_id"

    def get_queryset(self):
        return selectors.payouts_of_collective(self.collective, state=self.request.query_params.get("state"))

    def paginate_queryset(self, queryset):
        return super().paginate_queryset(IdsFirst(queryset))  # ordered by the periods' ends: see IdsFirst

    @extend_schema(request=MarkPaidSerializer, responses=PayoutSerializer)
    @action(detail=True, methods=["post"], url_path="mark-paid")
    def mark_paid(self, request, *args, **kwargs):
        serializer = MarkPaidSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payout = self.get_object()
        payouts_mark_paid(collective=self.collective, payout_ids=[payout.pk], actor=request.user,
                          paid_on=serializer.validated_data.get("paid_on") or timezone.localdate(),
                          reference=serializer.validated_data["reference"])
        return Response(self.get_serializer(self.get_queryset().get(pk=payout.pk)).data)

    @extend_schema(request=BulkMarkPaidSerializer, responses=PayoutSerializer(many=True),
                   operation_id="collectives_payouts_bulk_mark_paid")
    @action(detail=False, methods=["post"], url_path="mark-paid")
    def bulk_mark_paid(self, request, *args, **kwargs):
        serializer = BulkMarkPaidSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payouts = payouts_mark_paid(collective=self.collective, payout_ids=serializer.validated_data["payouts"],
                                    actor=request.user,
                                    paid_on=serializer.validated_data.get("paid_on") or timezone.localdate(),
                                    reference=serializer.validated_data["reference"])
        fresh = selectors.payouts_of_collective(self.collective).filter(pk__in=[p.pk for p in payouts])
        return Response(self.get_serializer(fresh, many=True).data)
