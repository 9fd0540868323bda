"""The declarations API: declare, amend, withdraw, question, validate (one or several), adjust, reject.

Serializers only parse and render; every decision is a service's.
"""

from functools import cache

import django_filters
from django.db.models import Model
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from budgets.api import CloseSerializer, PeriodSerializer
from budgets.models import MONEY, Budget, Envelope, Period, RateLevel, Task
from budgets.selectors import period_with_figures
from contrib_budget.api import CollectiveScopedMixin, DecimalField, ModelSerializer, MultiLineField
from contrib_budget.errors import DomainError
from contrib_budget.money import MAX_DECLARATION
from contrib_budget.prepared import Prepared
from contrib_budget.text import MAX_ID, parse_id
from members.models import Role

from . import closing, selectors, services
from .models import ATTACHMENT_VALIDATORS, Contribution, ContributionStatus, ValueMode
from .permissions import CLOSE_PERIODS

WRITABLE = ("budget", "envelope", "task", "performed_on", "description", "minutes", "value_mode",
            "rate_level", "hourly_rate", "amount")


@cache
def _one_in_collective(model: type[Model], filters: tuple[tuple[str, object], ...]) -> Prepared:
    """The row of `model` of an id in a collective, if `filters` hold, as a query compiled once per process."""
    return Prepared(lambda collective_id, pk: model.objects.filter(collective_id=collective_id, pk=pk,
                                                                   **dict(filters)))


class ScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object of the request's collective only (others do not exist).

    An id is looked up by a prepared query (contrib_budget.prepared): building and compiling the queryset cost a
    declaration more than running it. Anything else than an id gets DRF's own answer."""

    def __init__(self, model, *, new_only: dict | None = None, **kwargs):
        self.model = model
        # Filters applied when a new declaration is made (e.g. open tasks only, as on the page).
        self.new_only = new_only or {}
        super().__init__(**kwargs)

    def get_queryset(self):
        queryset = self.model.objects.of(self.context["collective"])
        if self.parent.instance is None:
            queryset = queryset.filter(**self.new_only)
        return queryset

    def to_internal_value(self, data):
        pk = data if type(data) is int and 0 < data <= MAX_ID else parse_id(data)
        if pk is None:
            return super().to_internal_value(data)
        filters = self.new_only if self.parent.instance is None else {}
        found = _one_in_collective(self.model, tuple(sorted(filters.items()))).rows(
            collective_id=self.context["collective"].pk, pk=pk)
        if not found:
            self.fail("does_not_exist", pk_value=data)
        return found[0]


class AttachmentField(serializers.FileField):
    """Uploads a file; renders the address of the page that serves it to members of the collective."""

    def to_representation(self, value):
        if not value:
            return None
        url = reverse("contribution_attachment", args=[self.context["collective"].slug, value.instance.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class AuthorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class ContributionSerializer(ModelSerializer):
    budget = ScopedRelatedField(Budget)
    envelope = ScopedRelatedField(Envelope, required=False, allow_null=True)
    task = ScopedRelatedField(Task, new_only={"is_published": True, "is_done": False},
                              required=False, allow_null=True)
    attachment = AttachmentField(required=False, validators=ATTACHMENT_VALIDATORS)
    rate_level = ScopedRelatedField(RateLevel, required=False, allow_null=True)
    minutes = serializers.IntegerField(min_value=0, max_value=services.MAX_MINUTES, default=0)
    value_mode = serializers.ChoiceField(choices=ValueMode.choices, default=ValueMode.TIME_RATE)
    hourly_rate = DecimalField(required=False, allow_null=True, min_value=0, **MONEY)
    amount = DecimalField(required=False, allow_null=True, min_value=0, max_value=MAX_DECLARATION, **MONEY)
    description = MultiLineField(max_length=5000)
    author = AuthorSerializer(read_only=True)
    granted_amount = serializers.SerializerMethodField()
    comments_count = serializers.IntegerField(read_only=True, default=0)
    validated_amount = serializers.DecimalField(read_only=True, allow_null=True, **MONEY)

    class Meta:
        model = Contribution
        fields = ["id", *WRITABLE, "attachment", "status", "period", "granted_amount", "author",
                  "validated_amount", "decision_reason", "comments_count", "created_at", "updated_at"]
        read_only_fields = ["id", "status", "period", "decision_reason", "created_at", "updated_at"]

    def get_granted_amount(self, contribution) -> str | None:
        payout = getattr(contribution, "payout", None)
        if payout is None:
            return None
        return serializers.DecimalField(**MONEY).to_representation(payout.granted)


class QuestionSerializer(serializers.Serializer):
    comment = MultiLineField(max_length=5000)


class AdjustSerializer(serializers.Serializer):
    amount = DecimalField(min_value=0, max_value=MAX_DECLARATION, **MONEY)
    reason = MultiLineField(max_length=2000)


class RejectSerializer(serializers.Serializer):
    reason = MultiLineField(max_length=2000)


class BatchValidateSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), allow_empty=False, max_length=services.MAX_BATCH,
        help_text="The declarations to validate, each checked as if validated alone.",
    )


class BatchResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    outcome = serializers.ChoiceField(
        choices=[(outcome.value, outcome.value) for outcome in services.BatchOutcome],
        help_text="validated; approved (recorded, more coordinators must approve); skipped (see code and detail).",
    )
    code = serializers.CharField(help_text="Why it was skipped, as in the error shape (e.g. own_declaration); "
                                           "empty otherwise.")
    detail = serializers.CharField(help_text="Why it was skipped, in the reader's language; empty otherwise.")
    status = serializers.CharField(allow_null=True, help_text="The declaration's status now; null when not found.")


class BatchValidateResponseSerializer(serializers.Serializer):
    validated = serializers.IntegerField()
    approved = serializers.IntegerField()
    skipped = serializers.IntegerField()
    results = BatchResultSerializer(many=True)


class ContributionFilter(django_filters.FilterSet):
    budget = django_filters.NumberFilter(field_name="budget_id")
    period = django_filters.NumberFilter(field_name="period_id")
    author = django_filters.NumberFilter(field_name="author_id")
    status = django_filters.ChoiceFilter(choices=ContributionStatus.choices)

    class Meta:
        model = Contribution
        fields = ["budget", "period", "author", "status"]


class ContributionViewSet(
    CollectiveScopedMixin, mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin, viewsets.GenericViewSet,
):
    """Every declaration of the collective, visible to all its members; contributors declare."""

    serializer_class = ContributionSerializer
    queryset = Contribution.objects.none()
    filterset_class = ContributionFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    roles_by_action = {
        "create": (Role.CONTRIBUTOR,),
        "validate": (Role.COORDINATOR,),
        "validate_many": (Role.COORDINATOR,),
        "adjust": (Role.COORDINATOR,),
        "reject": (Role.COORDINATOR,),
    }

    def get_queryset(self):
        return selectors.contributions_of(self.collective)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "collective": getattr(self, "collective", None)}

    def _render(self, contribution: Contribution, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=contribution.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        attachment = data.pop("attachment", None)
        contribution = services.contribution_declare(
            collective=self.collective, membership=self.membership,
            declaration=services.Declaration(**data), attachment=attachment,
        )
        # Rendered as it was saved: a declaration just made has no comment and no payout to read back.
        contribution.comments_count = 0
        Contribution.payout.related.set_cached_value(contribution, None)
        serializer.instance = contribution  # as DRF's save() does: the serializer that checked it renders it
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        contribution = self.get_object()
        serializer = self.get_serializer(contribution, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = {name: value for name, value in serializer.validated_data.items() if name in WRITABLE}
        attachment = serializer.validated_data.get("attachment")
        if not changes and attachment is None:
            raise DomainError(_("Nothing to change."), "no_change")
        contribution = services.contribution_amend(contribution=contribution, actor=request.user, changes=changes,
                                                   attachment=attachment)
        return self._render(contribution)

    @extend_schema(request=QuestionSerializer, responses={201: inline_serializer(
        "ContributionComment", {"id": serializers.IntegerField(), "kind": serializers.CharField(),
                                "comment": serializers.CharField(), "created_at": serializers.DateTimeField()})})
    @action(detail=True, methods=["post"])
    def question(self, request, *args, **kwargs):
        contribution = self.get_object()
        serializer = QuestionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.contribution_question(
            contribution=contribution, actor=request.user, comment=serializer.validated_data["comment"]
        )
        return Response(
            {"id": comment.pk, "kind": comment.kind, "comment": comment.body, "created_at": comment.created_at},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses=ContributionSerializer)
    @action(detail=True, methods=["post"])
    def validate(self, request, *args, **kwargs):
        contribution = services.contribution_validate(contribution=self.get_object(), membership=self.membership)
        return self._render(contribution)

    @extend_schema(request=AdjustSerializer, responses=ContributionSerializer)
    @action(detail=True, methods=["post"])
    def adjust(self, request, *args, **kwargs):
        contribution = self.get_object()
        serializer = AdjustSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contribution = services.contribution_adjust(
            contribution=contribution, membership=self.membership, **serializer.validated_data
        )
        return self._render(contribution)

    @extend_schema(request=RejectSerializer, responses=ContributionSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, *args, **kwargs):
        contribution = self.get_object()
        serializer = RejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contribution = services.contribution_reject(
            contribution=contribution, membership=self.membership, reason=serializer.validated_data["reason"]
        )
        return self._render(contribution)

    @extend_schema(request=None, responses=ContributionSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, *args, **kwargs):
        """The author withdraws a declaration not yet decided: it stays listed, as withdrawn, and counts nowhere."""
        contribution = services.contribution_withdraw(contribution=self.get_object(), actor=request.user)
        return self._render(contribution)

    @extend_schema(request=BatchValidateSerializer, responses=BatchValidateResponseSerializer)
    @action(detail=False, methods=["post"], url_path="validate", url_name="validate-many")
    def validate_many(self, request, *args, **kwargs):
        """Validate several declarations at once. Each is checked as if validated alone: the answer is 200 with
        one result per id (repeats once), and a skipped one says why (own declaration, already decided, closed
        period, not found) with the code and detail of the error it would have got alone."""
        serializer = BatchValidateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        results = services.contributions_validate(membership=self.membership, ids=serializer.validated_data["ids"])
        counts = {outcome.value: sum(1 for r in results if r.outcome == outcome) for outcome in services.BatchOutcome}
        return Response({**counts, "results": [{
            "id": result.id, "outcome": result.outcome.value, "code": result.code, "detail": result.message,
            "status": result.contribution.status if result.contribution is not None else None,
        } for result in results]})


class PeriodCloseViewSet(CollectiveScopedMixin, viewsets.GenericViewSet):
    """Coordinators close a period (with a decision when it is in deficit)."""

    serializer_class = PeriodSerializer
    roles_by_action = {"close": CLOSE_PERIODS.roles}
    lookup_url_kwarg = "period_id"

    def get_queryset(self):
        return Period.objects.of(self.collective).select_related("budget")

    @extend_schema(request=CloseSerializer, responses=PeriodSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, *args, **kwargs):
        serializer = CloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        period = closing.period_close(period=self.get_object(), actor=request.user,
                                      decision=serializer.validated_data.get("decision"))
        return Response(self.get_serializer(period_with_figures(period)).data)
