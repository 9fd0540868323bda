"""The accounting API: exports (list, request, status, download) and period locks."""

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from budgets.models import AccountKind, Period
from contrib_budget.api import CollectiveScopedMixin, DateField
from contrib_budget.errors import Conflict, DomainError
from contrib_budget.schema import ErrorSerializer

from . import bank, selectors, services
from .forms import BankStatementForm
from .models import Export, ExportFormat, ExportKind, ExportStatus
from .permissions import ACCOUNTANT_ONLY, KEEP_BOOKS
from .writers import WRITERS


class ExportSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()
    requested_by = serializers.CharField(source="requested_by.display_name", read_only=True)

    class Meta:
        model = Export
        fields = ["id", "kind", "format", "params", "filters", "status", "progress", "row_count", "error",
                  "requested_by", "created_at", "finished_at", "expires_at", "download_url"]
        read_only_fields = fields

    filters = serializers.SerializerMethodField()

    def get_fields(self):
        # The request's shape echoed: `from` and `to` (a Python keyword, hence not class attributes), `filters`.
        fields = super().get_fields()
        fields["from"] = serializers.DateField(source="params.from", read_only=True, allow_null=True)
        fields["to"] = serializers.DateField(source="params.to", read_only=True, allow_null=True)
        return fields

    def get_filters(self, export) -> dict:
        return {key: export.params[key] for key in services.FILTER_KEYS if key in export.params}

    def get_download_url(self, export) -> str | None:
        if export.status != ExportStatus.READY:
            return None
        path = reverse("api-export-download", args=[export.collective.slug, export.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


def _filter_fields() -> dict:
    return {
        "budget": serializers.IntegerField(required=False, min_value=1),
        "period": serializers.IntegerField(required=False, min_value=1),
        "round": serializers.IntegerField(required=False, min_value=1),
        "account_kinds": serializers.ListField(
            child=serializers.ChoiceField(choices=AccountKind.choices), required=False
        ),
    }


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, so a misspelt filter is not silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict) and (unknown := sorted(set(data) - set(self.fields))):
            raise ValidationError({key: [_("Unknown filter.")] for key in unknown})
        return super().to_internal_value(data)


# What to narrow an export to: a budget, a period, a cobudget round, some ledger account kinds.
ExportFiltersSerializer = type("ExportFiltersSerializer", (StrictSerializer,), _filter_fields())


def _request_fields() -> dict:
    return {
        "kind": serializers.ChoiceField(choices=ExportKind.choices),
        "format": serializers.ChoiceField(choices=ExportFormat.choices),
        "from": DateField(required=False, allow_null=True),
        "to": DateField(required=False, allow_null=True),
        "delimiter": serializers.ChoiceField(choices=[",", ";"], required=False),
        "separator": serializers.ChoiceField(choices=["tab", "pipe"], required=False),
        "filters": ExportFiltersSerializer(required=False),
        # The filters are also accepted beside `kind` and `format`, as before `filters` existed.
        **_filter_fields(),
    }


# `from` is a Python keyword, hence the serializer is built from a dict of fields.
ExportRequestSerializer = type("ExportRequestSerializer", (serializers.Serializer,), _request_fields())


class ExportViewSet(CollectiveScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    viewsets.GenericViewSet):
    """The collective's exports: every export of the collective, for its accountants and coordinators."""

    serializer_class = ExportSerializer
    queryset = Export.objects.none()  # the model, for the schema; get_queryset scopes to the collective
    required_roles = KEEP_BOOKS.roles

    def get_queryset(self):
        return selectors.exports_of(self.collective).select_related("collective")

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportSerializer})
    def create(self, request, *args, **kwargs):
        incoming = ExportRequestSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        kind, fmt = data.pop("kind"), data.pop("format")
        filters = data.pop("filters", {})
        data.update(filters)
        try:
            export = services.export_request(collective=self.collective, actor=request.user, kind=kind, fmt=fmt,
                                             params=data)
        except DomainError as error:
            # A refused filter sent inside `filters` is named there, as the request wrote it.
            nested = {key: error.fields.pop(key) for key in list(error.fields) if key in filters}
            if nested:
                error.fields["filters"] = nested
            raise
        return Response(self.get_serializer(export).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: ExportSerializer})
    @action(detail=True, methods=["post"], url_path="retry", url_name="retry")
    def retry(self, request, *args, **kwargs):
        """Ask again for a failed export (409 `export_not_failed` otherwise)."""
        export = services.export_retry(export=self.get_object(), actor=request.user)
        return Response(self.get_serializer(export).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={
        **{(200, writer.content_type.split(";")[0]): bytes for writer in WRITERS.values()},
        409: OpenApiResponse(ErrorSerializer, description="The export is not ready (`export_not_ready`)."),
    })
    @action(detail=True, methods=["get"], url_path="download", url_name="download")
    def download(self, request, *args, **kwargs):
        return export_file_response(self.get_object())


def export_file_response(export: Export) -> FileResponse:
    if export.status != ExportStatus.READY or not export.file:
        raise Conflict(_("This export is not ready."), "export_not_ready")
    return FileResponse(export.file.open("rb"), as_attachment=True, filename=export.filename,
                        content_type=WRITERS[export.format].content_type)


class PeriodLockViewSet(CollectiveScopedMixin, viewsets.ViewSet):
    """Lock a closed period (accountants): no later change may touch it. Refused (409 `period_not_settled`,
    `fields.unposted` / `fields.unpaid` saying what is missing) until every grant of the period is posted
    and every payout paid."""

    required_roles = ACCOUNTANT_ONLY.roles

    @extend_schema(request=None, responses={200: dict})
    def lock(self, request, collective_slug: str, period_id: int):
        period = get_object_or_404(Period.objects.of(self.collective), pk=period_id)
        period = services.period_lock(period=period, actor=request.user)
        return Response({"id": period.pk, "status": period.status, "locked_at": period.locked_at,
                         "locked_by": period.locked_by.display_name})


class BankStatementViewSet(CollectiveScopedMixin, viewsets.ViewSet):
    """Upload the bank's CSV of transfers (field `file`): matched payouts are marked paid (accountants)."""

    required_roles = ACCOUNTANT_ONLY.roles
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": {"type": "object", "properties": {"file": {"type": "string",
                                                                                              "format": "binary"}}}},
                   responses={200: dict})
    def upload(self, request, collective_slug: str):
        form = BankStatementForm(request.data, request.FILES)
        if not form.is_valid():
            raise ValidationError(form.errors)
        results = bank.payouts_mark_paid_from_bank(collective=self.collective, actor=request.user, text=form.text())
        return Response({"results": results})
