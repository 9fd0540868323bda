"""The API of recurring rounds: round templates (saved from a round, on a schedule or not), the round of an
occurrence made now, and a bucket kept for the next round (thin: services.recurring does the work)."""

from django.db.models import Count
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from contrib_budget.api import CollectiveScopedMixin, DateField, SingleLineField
from members.api import RoleListField

from . import selectors, services
from .api import BucketSerializer, RoundSerializer
from .models import Bucket, Round, RoundSchedule, RoundTemplate
from .permissions import MANAGE_ROUNDS
from .services.recurring import MAX_FUNDING_DAYS


class RoundTemplateSerializer(serializers.ModelSerializer):
    rules = serializers.JSONField(read_only=True, help_text="The rules each round is made with (amounts as strings).")
    participant_roles = RoleListField(read_only=True)
    rounds_count = serializers.IntegerField(read_only=True, help_text="How many rounds its series holds.")

    class Meta:
        model = RoundTemplate
        fields = ["id", "name", "rules", "participant_roles", "schedule", "funding_days", "next_occurrence",
                  "source_round", "rounds_count", "created_by", "created_at"]
        read_only_fields = fields


class TemplateFieldsSerializer(serializers.Serializer):
    name = SingleLineField(max_length=150)
    schedule = serializers.ChoiceField(choices=RoundSchedule.choices, default=RoundSchedule.NONE)
    funding_days = serializers.IntegerField(min_value=1, max_value=MAX_FUNDING_DAYS, default=14,
                                            help_text="How many days each round's funding lasts after its date.")
    participant_roles = RoleListField(
        required=False,
        help_text="Who takes part in each round: the holders of these roles when it is made (default: member).")
    next_occurrence = DateField(required=False, allow_null=True,
                                help_text="The date of the next scheduled round (default: one period from today).")


class TemplateCreateSerializer(TemplateFieldsSerializer):
    round = serializers.PrimaryKeyRelatedField(queryset=Round.objects.none(),
                                               help_text="The round whose rules the template keeps.")

    def __init__(self, *args, collective=None, **kwargs):
        super().__init__(*args, **kwargs)
        if collective is not None:
            self.fields["round"].queryset = Round.objects.of(collective)


class TemplateUpdateSerializer(TemplateFieldsSerializer):
    schedule = serializers.ChoiceField(choices=RoundSchedule.choices, required=False)
    funding_days = serializers.IntegerField(min_value=1, max_value=MAX_FUNDING_DAYS, required=False)


class RunSerializer(serializers.Serializer):
    occurrence = DateField(required=False, help_text="The date the round stands for (default: today).")


class CarryOverSerializer(serializers.Serializer):
    keep = serializers.BooleanField(help_text="Carry the bucket over to the next round if it ends unfunded.")


class RoundTemplateViewSet(CollectiveScopedMixin, viewsets.GenericViewSet):
    """Round templates: every member reads them; coordinators save one from a round, change its schedule, delete
    it, and make the round of an occurrence now (beat makes the scheduled ones)."""

    queryset = RoundTemplate.objects.none()  # the model, for the schema; get_queryset scopes to the collective
    serializer_class = RoundTemplateSerializer
    lookup_url_kwarg = "round_template_id"
    roles_by_action = {action: MANAGE_ROUNDS.roles for action in ("create", "partial_update", "destroy", "run")}

    def get_queryset(self):
        return (RoundTemplate.objects.of(self.collective).annotate(rounds_count=Count("rounds"))
                .order_by("name", "id"))

    def _template(self, round_template_id) -> RoundTemplate:
        template = get_object_or_404(RoundTemplate.objects.of(self.collective), pk=round_template_id)
        template.collective = self.collective
        return template

    def _respond(self, template: RoundTemplate, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=template.pk)).data, status=code)

    def list(self, request, collective_slug):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=TemplateCreateSerializer, responses={201: RoundTemplateSerializer})
    def create(self, request, collective_slug):
        serializer = TemplateCreateSerializer(data=request.data, collective=self.collective)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        round = data.pop("round")
        round.collective = self.collective
        template = services.round_template_save(round=round, actor=request.user, **data)
        return self._respond(template, status.HTTP_201_CREATED)

    def retrieve(self, request, collective_slug, round_template_id):
        return self._respond(self._template(round_template_id))

    @extend_schema(request=TemplateUpdateSerializer, responses=RoundTemplateSerializer)
    def partial_update(self, request, collective_slug, round_template_id):
        template = self._template(round_template_id)
        serializer = TemplateUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        template = services.round_template_update(template=template, actor=request.user,
                                                  **serializer.validated_data)
        return self._respond(template)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, collective_slug, round_template_id):
        services.round_template_delete(template=self._template(round_template_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RunSerializer, responses={200: RoundSerializer, 201: RoundSerializer},
                   description="Make the template's round of `occurrence` now (201), or return it if it exists "
                               "(200). It opens with envelopes from the pool; when the pool cannot pay, it stays "
                               "in draft.")
    def run(self, request, collective_slug, round_template_id):
        template = self._template(round_template_id)
        serializer = RunSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        occurrence = serializer.validated_data.get("occurrence") or timezone.localdate()
        round, made = services.round_from_template(template=template, occurrence=occurrence, actor=request.user)
        round = Round.objects.of(self.collective).prefetch_related("participants").get(pk=round.pk)
        return Response(RoundSerializer(round, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED if made else status.HTTP_200_OK)


class BucketCarryOverViewSet(CollectiveScopedMixin, viewsets.ViewSet):
    """A bucket's carriers (or a coordinator) keep it for the next round of its template, until that round is
    made: if it ends unfunded, it is proposed there again."""

    @extend_schema(request=CarryOverSerializer, responses={200: BucketSerializer})
    def carry_over(self, request, collective_slug, bucket_id):
        buckets = selectors.buckets_visible_to(Bucket.objects.of(self.collective), request.user)
        bucket = get_object_or_404(buckets, pk=bucket_id)
        bucket.collective = self.collective
        serializer = CarryOverSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.bucket_carry_over(bucket=bucket, actor=request.user, keep=serializer.validated_data["keep"])
        bucket = (Bucket.objects.of(self.collective).select_related("account", "round")
                  .prefetch_related("carriers", "lines").get(pk=bucket.pk))
        context = {"request": request, "collective": self.collective,
                   "funding": selectors.funding_by_bucket([bucket], request.user)}
        return Response(BucketSerializer(bucket, context=context).data)
