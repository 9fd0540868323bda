"""The API of incoming money: upload a file for a preview, read it, apply it with the person's choices."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from contrib_budget.api import CollectiveScopedMixin

from ..models import FundingImport, FundingImportLine, ImportAction, ImportFormat
from ..permissions import IMPORT_FUNDINGS, KEEP_BOOKS
from . import services
from .forms import IncomingUploadForm

LINES_PAGE_SIZE = 50


class ImportLineSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    day = serializers.DateField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    payer = serializers.CharField()
    reference = serializers.CharField()
    external_id = serializers.CharField()
    proposed_action = serializers.ChoiceField(choices=ImportAction.choices)
    action = serializers.ChoiceField(source="chosen_action", choices=ImportAction.choices)
    funding = serializers.IntegerField(source="funding_id", allow_null=True,
                                       help_text="The pledged funding received, or the funding created once applied.")
    budget = serializers.IntegerField(source="budget_id", allow_null=True)
    duplicate = serializers.SerializerMethodField()
    problem = serializers.CharField(help_text="Why the line can only be skipped (another currency); empty if none.")
    outcome = serializers.CharField(help_text="What applying did: receive, create, skip or duplicate; empty before.")

    def get_duplicate(self, line: FundingImportLine) -> bool:
        return ImportAction.DUPLICATE in (line.chosen_action, line.outcome)


class FundingImportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    format = serializers.CharField()
    status = serializers.CharField()
    budget = serializers.IntegerField(source="budget_id", allow_null=True)
    created_at = serializers.DateTimeField()
    applied_at = serializers.DateTimeField(allow_null=True)
    summary = serializers.DictField(help_text="Once applied: currency, and the count and total of the lines "
                                              "received, created, skipped and duplicates.")
    line_count = serializers.IntegerField(help_text="Lines of the file; `lines` holds one page of them (`?page=`).")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    lines = ImportLineSerializer(many=True)


class ChoiceSerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=1)
    action = serializers.ChoiceField(choices=[ImportAction.RECEIVE, ImportAction.CREATE, ImportAction.SKIP],
                                     required=False)
    funding = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    budget = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class ApplySerializer(serializers.Serializer):
    lines = ChoiceSerializer(many=True, required=False, help_text="Lines left out keep their proposal.")


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=ImportFormat.choices)
    budget = serializers.IntegerField(required=False, allow_null=True, help_text="The default budget.")


def import_data(funding_import: FundingImport, page_number=1) -> dict:
    lines = FundingImportLine.objects.of(funding_import.collective_id).filter(funding_import=funding_import)
    page = Paginator(lines.order_by("number"), LINES_PAGE_SIZE).get_page(page_number)
    return FundingImportSerializer({
        "id": funding_import.pk, "format": funding_import.format, "status": funding_import.status,
        "budget_id": funding_import.budget_id, "created_at": funding_import.created_at,
        "applied_at": funding_import.applied_at, "summary": funding_import.summary,
        "line_count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages,
        "lines": list(page.object_list),
    }).data


class FundingImportViewSet(CollectiveScopedMixin, viewsets.ViewSet):
    """Imports of incoming money: coordinators upload and apply; accountants and coordinators read them."""

    queryset = FundingImport.objects.none()  # the model, for the schema; lookups are scoped to the collective
    lookup_url_kwarg = "funding_import_id"
    roles_by_action = {"create": IMPORT_FUNDINGS.roles, "apply": IMPORT_FUNDINGS.roles,
                       "retrieve": KEEP_BOOKS.roles}

    def get_parsers(self):
        return [MultiPartParser()] if getattr(self, "action", None) == "create" else [JSONParser(), MultiPartParser()]

    def _import(self, funding_import_id: int) -> FundingImport:
        return get_object_or_404(FundingImport.objects.of(self.collective).select_related("collective"),
                                 pk=funding_import_id)

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={201: FundingImportSerializer})
    def create(self, request, collective_slug: str):
        """Upload a CSV (`file`, `format`, default `budget`): its lines with the proposed actions; nothing is
        recorded in the fundings nor the ledger until applied."""
        form = IncomingUploadForm(request.data, request.FILES, collective=self.collective)
        if not form.is_valid():
            raise ValidationError(form.errors)
        funding_import = services.funding_import_preview(
            collective=self.collective, actor=request.user, fmt=form.cleaned_data["format"], text=form.text(),
            budget=form.cleaned_data["budget"])
        return Response(import_data(funding_import), status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("page", int, description="The page of lines.")],
                   responses={200: FundingImportSerializer})
    def retrieve(self, request, collective_slug: str, funding_import_id: int):
        return Response(import_data(self._import(funding_import_id), request.query_params.get("page", 1)))

    @extend_schema(request=ApplySerializer, responses={200: FundingImportSerializer})
    def apply(self, request, collective_slug: str, funding_import_id: int):
        """Apply the import in one transaction: `receive` marks the pledged funding received (amounts equal),
        `create` records a received funding of the line's budget. Applying again changes nothing."""
        incoming = ApplySerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        funding_import = services.funding_import_apply(funding_import=self._import(funding_import_id),
                                                       actor=request.user,
                                                       choices=incoming.validated_data.get("lines", []))
        return Response(import_data(funding_import))
