"""The API of payment batches (SEPA or payroll files) and of corrections to grants.

Accountants and coordinators send payouts out in batches; coordinators reverse or correct a grant.
"""

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from contrib_budget.api import CollectiveScopedMixin, MultiLineField

from . import selectors
from .api import PayoutSerializer, money_field
from .batches import batch_cancel, batch_create, batch_mark_sent
from .corrections import payout_correct, payout_reverse
from .models import BatchMethod, Payout, PayoutBatch
from .permissions import CORRECT_GRANTS, PAY_PAYOUTS

BATCH_CONTENT_TYPES = {BatchMethod.SEPA: "application/xml", BatchMethod.PAYROLL: "text/csv"}


def batch_file_response(batch: PayoutBatch) -> HttpResponse:
    """The batch's file, as produced, to download (the page and the API)."""
    response = HttpResponse(batch.document, content_type=BATCH_CONTENT_TYPES[batch.method])
    response["Content-Disposition"] = f'attachment; filename="{batch.filename}"'
    return response


class SkippedSerializer(serializers.Serializer):
    payout = serializers.IntegerField()
    reason = serializers.CharField()


class BatchSerializer(serializers.ModelSerializer):
    total = money_field(read_only=True)
    skipped = SkippedSerializer(many=True, read_only=True)
    payouts = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = PayoutBatch
        fields = ["id", "method", "status", "total", "count", "skipped", "payouts", "download_url", "filename",
                  "created_at", "sent_at", "cancelled_at"]
        read_only_fields = fields

    def get_payouts(self, batch) -> list[int]:
        """The payouts that went out in the batch (kept when it is cancelled)."""
        return [line["payout"] for line in batch.lines]

    def get_download_url(self, batch) -> str:
        url = reverse("api-payout-batch-download", args=[batch.collective.slug, batch.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class BatchSummarySerializer(BatchSerializer):
    """A batch in the list: how many payouts were left out rather than which (its detail names them)."""

    skipped_count = serializers.SerializerMethodField()

    class Meta(BatchSerializer.Meta):
        fields = ["id", "method", "status", "total", "count", "skipped_count", "download_url", "filename",
                  "created_at", "sent_at", "cancelled_at"]
        read_only_fields = fields

    def get_skipped_count(self, batch) -> int:
        return len(batch.skipped)


class BatchCreateSerializer(serializers.Serializer):
    payouts = serializers.ListField(child=serializers.IntegerField(), allow_empty=False, max_length=1000)
    method = serializers.ChoiceField(choices=BatchMethod.choices)


class PayoutBatchViewSet(CollectiveScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):
    """Payment batches: payable payouts sent out together as a SEPA credit-transfer file or a payroll CSV.
    Their payouts are `sent` until the bank statement marks them paid; a batch not yet marked sent can be
    cancelled, which makes its payouts payable again."""

    serializer_class = BatchSerializer
    queryset = PayoutBatch.objects.none()
    required_roles = PAY_PAYOUTS.roles
    lookup_url_kwarg = "payout_batch_id"

    def get_queryset(self):
        return PayoutBatch.objects.of(self.collective).select_related("collective").defer("document")

    def get_serializer_class(self):
        return BatchSummarySerializer if self.action == "list" else BatchSerializer

    def _render(self, batch, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=batch.pk)).data, status=code)

    @extend_schema(request=BatchCreateSerializer, responses={201: BatchSerializer})
    def create(self, request, *args, **kwargs):
        serializer = BatchCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch = batch_create(collective=self.collective, actor=request.user,
                             payout_ids=serializer.validated_data["payouts"],
                             method=serializer.validated_data["method"])
        return self._render(batch, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=BatchSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        return self._render(batch_cancel(batch=self.get_object(), actor=request.user))

    @extend_schema(request=None, responses=BatchSerializer)
    @action(detail=True, methods=["post"])
    def sent(self, request, *args, **kwargs):
        """The file was handed to the bank or the payroll: the batch can no longer be cancelled."""
        return self._render(batch_mark_sent(batch=self.get_object(), actor=request.user))

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(description="The batch's file.")})
    @action(detail=True, methods=["get"])
    def download(self, request, *args, **kwargs):
        return batch_file_response(PayoutBatch.objects.of(self.collective).get(pk=self.get_object().pk))


class ReverseSerializer(serializers.Serializer):
    reason = MultiLineField(max_length=1000)


class CorrectSerializer(serializers.Serializer):
    amount = money_field(min_value=0)
    reason = MultiLineField(max_length=1000)


class CorrectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    payout = serializers.IntegerField(source="payout_id")
    amount = money_field()
    reason = serializers.CharField()
    funding = serializers.IntegerField(source="funding_id")
    recovered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class PayoutCorrectionViewSet(CollectiveScopedMixin, viewsets.GenericViewSet):
    """Coordinators reverse the grant of an unpaid payout, or record that a paid one was too large (its payee's
    next payouts repay it)."""

    serializer_class = PayoutSerializer
    queryset = Payout.objects.none()
    required_roles = CORRECT_GRANTS.roles
    lookup_url_kwarg = "payout_id"

    def get_queryset(self):
        # A correction moves money between the payout's budget's accounts.
        return selectors.payouts_of_collective(self.collective).select_related("period__budget")

    @extend_schema(request=ReverseSerializer, responses=PayoutSerializer)
    @action(detail=True, methods=["post"])
    def reverse(self, request, *args, **kwargs):
        payout = self.get_object()
        serializer = ReverseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payout = payout_reverse(payout=payout, actor=request.user, reason=serializer.validated_data["reason"])
        return Response(self.get_serializer(self.get_queryset().get(pk=payout.pk)).data)

    @extend_schema(request=CorrectSerializer, responses={201: CorrectionSerializer})
    @action(detail=True, methods=["post"])
    def correct(self, request, *args, **kwargs):
        payout = self.get_object()
        serializer = CorrectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        correction = payout_correct(payout=payout, actor=request.user, **serializer.validated_data)
        return Response(CorrectionSerializer(correction).data, status=status.HTTP_201_CREATED)
