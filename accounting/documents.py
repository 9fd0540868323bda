"""PDF documents: their data is computed, frozen in an IssuedDocument, then rendered by WeasyPrint.

A document is rebuilt from its frozen data, so the same document always reads
the same. Asking again for a document whose data has not changed returns the
one already issued and writes nothing (a prefetcher or a crawler repeating a GET
issues nothing more); only changed data issues a new document, once. A period's
closing statement exists once the period is closed. Rejected declarations are
listed but never counted in the requested totals (as in the closing).
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from weasyprint import HTML

from budgets.models import Payout, Period, PeriodStatus
from cobudget.models import Round, RoundStatus
from contrib_budget import dates
from contrib_budget.api import CollectiveScopedMixin
from contrib_budget.errors import Conflict
from contrib_budget.money import ZERO
from contrib_budget.schema import ErrorSerializer
from contributions.models import NOT_COUNTED, Contribution, ContributionStatus
from members.models import Membership

from . import services
from .exporters.rounds import bucket_results, member_results
from .models import DocumentKind, IssuedDocument
from .permissions import KEEP_BOOKS

TEMPLATES = {
    DocumentKind.PERIOD_STATEMENT: "accounting/pdf/period_statement.html",
    DocumentKind.PERSONAL_STATEMENT: "accounting/pdf/personal_statement.html",
    DocumentKind.ROUND_RESULTS: "accounting/pdf/round_results.html",
}


def _money(value) -> str:
    return str(value if value is not None else ZERO)


def _collective_data(collective) -> dict:
    return {"name": collective.name, "currency": collective.currency, "locale": collective.locale}


def period_statement_data(period: Period) -> dict:
    """Available money, every declaration with requested and granted, the policy applied, totals."""
    collective = period.collective
    contributions = (
        Contribution.objects.of(collective).filter(period=period)
        .select_related("author", "envelope").order_by("performed_on", "id")
    )
    granted_by_contribution = dict(
        Payout.objects.of(collective).filter(period=period).values_list("contribution_id", "granted")
    )
    declarations = []
    requested_total = granted_total = ZERO
    rejected = withdrawn = 0
    for contribution in contributions:
        granted = granted_by_contribution.get(contribution.pk, ZERO)
        if contribution.status == ContributionStatus.REJECTED:
            rejected += 1
        elif contribution.status == ContributionStatus.WITHDRAWN:
            withdrawn += 1
        else:
            requested_total += contribution.amount
        granted_total += granted
        declarations.append({
            "date": contribution.performed_on.isoformat(),
            "person": contribution.author.display_name,
            "envelope": contribution.envelope.name if contribution.envelope else "",
            "description": contribution.description[:120],
            "status": contribution.status,
            "requested": _money(contribution.amount),
            "granted": _money(granted),
        })
    budget = period.budget
    return {
        "collective": _collective_data(collective),
        "budget": budget.name,
        "period": {"index": period.index + 1, "starts_on": period.starts_on.isoformat(),
                   "ends_on": period.ends_on.isoformat(), "status": period.status},
        "available": _money(period.available),
        "policy": budget.overspend_policy,
        "decision": period.decision or None,
        "closed_at": period.closed_at.isoformat() if period.closed_at else None,
        "closed_by": period.closed_by.display_name if period.closed_by else "",
        "declarations": declarations,
        "totals": {"requested": _money(requested_total), "granted": _money(granted_total),
                   "count": len(declarations) - rejected - withdrawn, "rejected": rejected,
                   "withdrawn": withdrawn},
    }


def personal_statement_data(membership: Membership, year: int, first: date | None = None,
                            last: date | None = None) -> dict:
    """A person's contributions in a year (or from `first` to `last`), and what was granted and paid,
    per budget of the collective; rejected and withdrawn declarations are left out."""
    collective, person = membership.collective, membership.user
    ranged = first is not None and last is not None
    if not ranged:
        first, last = date(year, 1, 1), date(year, 12, 31)
    contributions = (Contribution.objects.of(collective).filter(author=person, performed_on__range=(first, last))
                     .exclude(status__in=NOT_COUNTED))
    paid = Q(payout__paid_on__isnull=False)
    per_budget = (
        contributions.values("budget__name")
        .annotate(
            count=Count("id"),
            requested=Coalesce(Sum("amount"), ZERO),
            granted=Coalesce(Sum("payout__granted"), ZERO),
            paid=Coalesce(Sum(F("payout__granted") - F("payout__withheld"), filter=paid), ZERO),
            reversed=Coalesce(Sum("payout__reversed_amount"), ZERO),
            withheld=Coalesce(Sum("payout__withheld"), ZERO),
            minutes=Coalesce(Sum("minutes"), 0),
        )
        .order_by("budget__name")
    )
    rows = [{"budget": row["budget__name"], "count": row["count"], "hours": f"{row['minutes'] / 60:.2f}",
             "requested": _money(row["requested"]), "granted": _money(row["granted"]), "paid": _money(row["paid"]),
             "reversed": _money(row["reversed"]), "withheld": _money(row["withheld"])}
            for row in per_budget]
    totals = {key: _money(sum((Decimal(row[key]) for row in rows), ZERO))
              for key in ("requested", "granted", "paid", "reversed", "withheld")}
    totals["count"] = sum(row["count"] for row in rows)
    return {
        "collective": _collective_data(collective),
        "person": {"name": person.display_name, "email": person.email},
        "year": year,
        "range": {"from": first.isoformat(), "to": last.isoformat()} if ranged else None,
        "budgets": rows,
        "totals": totals,
    }


def round_results_data(round_) -> dict:
    """Per bucket: goals, funded, funders, outcome; per member: envelope, allocated, returned."""
    rounds = Round.objects.filter(pk=round_.pk)
    buckets = [{"title": b.title, "status": b.status, "min_goal": _money(b.min_goal), "max_goal": _money(b.max_goal),
                "funded": _money(b.funded), "funders": b.funders, "refunded": _money(b.refunded)}
               for b in bucket_results(rounds)]
    members = [{"name": w.user.display_name, "envelope": _money(w.envelope), "allocated": _money(w.given),
                "returned": _money(w.returned), "left": _money(w.account.balance)}
               for w in member_results(rounds)]
    return {
        "collective": _collective_data(round_.collective),
        "round": {"name": round_.name, "status": round_.status,
                  "closed_at": round_.closed_at.isoformat() if round_.closed_at else None},
        "buckets": buckets,
        "members": members,
        "totals": {key: _money(sum((Decimal(m[key]) for m in members), ZERO))
                   for key in ("envelope", "allocated", "returned", "left")}
        | {"funded": _money(sum((Decimal(b["funded"]) for b in buckets), ZERO))},
    }


def render_pdf(document: IssuedDocument) -> bytes:
    with translation.override(document.locale):
        html = render_to_string(TEMPLATES[document.kind], {
            "doc": document.data, "issued_at": document.issued_at, "document": document,
        })
    return HTML(string=html).write_pdf()


def pdf_response(document: IssuedDocument, filename: str) -> HttpResponse:
    response = HttpResponse(render_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Document-Id"] = str(document.pk)
    return response


def _statement_range(query) -> tuple[date | None, date | None]:
    """`from` and `to` (YYYY-MM-DD, both or neither, in order), or (None, None) for a whole year."""
    if not query.get("from") and not query.get("to"):
        return None, None
    try:
        first, last = date.fromisoformat(query.get("from", "")), date.fromisoformat(query.get("to", ""))
    except ValueError:
        message = _("Give both dates, written YYYY-MM-DD.")
        raise ValidationError({"from": [message], "to": [message]}) from None
    for name, day in (("from", first), ("to", last)):
        try:
            dates.validate_date_window(day)
        except DjangoValidationError as error:
            raise ValidationError({name: error.messages}) from None
    if last < first:
        raise ValidationError({"to": [_("The end of the range comes before its start.")]})
    return first, last


class PdfRenderer(BaseRenderer):
    """Lets clients ask for application/pdf; errors still render as JSON."""

    media_type = "application/pdf"
    format = "pdf"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else JSONRenderer().render(data)


class DocumentViewSet(CollectiveScopedMixin, viewsets.ViewSet):
    """PDF documents: statements are issued (data frozen) on request, and rebuilt from their frozen data."""

    renderer_classes = [JSONRenderer, PdfRenderer]
    roles_by_action = {"rebuild": KEEP_BOOKS.roles}

    def finalize_response(self, request, response, *args, **kwargs):
        """A refusal is JSON in the error shape, and says so, even to a client that asked for a PDF."""
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 400:
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response

    @extend_schema(responses={(200, "application/pdf"): bytes, 409: OpenApiResponse(
        ErrorSerializer, description="The period is not closed yet (`period_not_closed`).")})
    def period_statement(self, request, collective_slug: str, period_id: int):
        """The closing statement of a period (every member may read it: declarations are public)."""
        period = get_object_or_404(Period.objects.of(self.collective).select_related("budget", "closed_by"),
                                   pk=period_id)
        if period.status != PeriodStatus.CLOSED:
            raise Conflict(_("The closing statement is published when the period is closed."), "period_not_closed")
        document = services.document_issue(
            collective=self.collective, actor=request.user, kind=DocumentKind.PERIOD_STATEMENT,
            subject=f"period:{period.pk}", data=period_statement_data(period),
        )
        return pdf_response(document, f"statement-period-{period.pk}.pdf")


    @extend_schema(
        parameters=[OpenApiParameter("membership_id", int, OpenApiParameter.PATH,
                                     description="The member's `id` as listed by GET …/members/ (a membership id, "
                                                 "not a user id: a person has one per collective)."),
                    OpenApiParameter("year", int, description="The calendar year; by default the current one."),
                    OpenApiParameter("from", OpenApiTypes.DATE, description="With `to`: a range instead of a year."),
                    OpenApiParameter("to", OpenApiTypes.DATE, description="With `from`: the last day of the range.")],
        responses={(200, "application/pdf"): bytes},
    )
    def personal_statement(self, request, collective_slug: str, membership_id: int):
        """A person's statement for a year: the person themself, accountants and coordinators.

        `<id>` is the member's id in `GET …/members/`, that is the membership's id."""
        membership = get_object_or_404(Membership.objects.of(self.collective).select_related("user", "collective"),
                                       pk=membership_id)
        if membership.user_id != request.user.pk and not self.membership.has_role(*KEEP_BOOKS.roles):
            raise PermissionDenied()
        first, last = _statement_range(request.query_params)
        try:
            year = int(request.query_params.get("year") or (first or timezone.localdate()).year)
            if not dates.EARLIEST.year <= year <= dates.LATEST.year:
                raise ValueError(year)
        except ValueError:
            raise ValidationError({"year": [_("Give a year, e.g. 2025.")]}) from None
        span = f"{first:%Y%m%d}-{last:%Y%m%d}" if first else str(year)
        document = services.document_issue(
            collective=self.collective, actor=request.user, kind=DocumentKind.PERSONAL_STATEMENT,
            subject=f"membership:{membership.pk}:{span}", data=personal_statement_data(membership, year, first, last),
        )
        return pdf_response(document, f"statement-{membership.pk}-{span}.pdf")


    @extend_schema(responses={(200, "application/pdf"): bytes, 409: OpenApiResponse(
        ErrorSerializer, description="The round is not closed yet (`round_not_closed`).")})
    def round_results(self, request, collective_slug: str, round_id: int):
        """The results of a closed cobudget round (every member may read them)."""
        round_ = get_object_or_404(Round.objects.of(self.collective).select_related("collective"), pk=round_id)
        if round_.status != RoundStatus.CLOSED:
            raise Conflict(_("The results are published when the round is closed."), "round_not_closed")
        document = services.document_issue(
            collective=self.collective, actor=request.user, kind=DocumentKind.ROUND_RESULTS,
            subject=f"round:{round_.pk}", data=round_results_data(round_),
        )
        return pdf_response(document, f"round-{round_.pk}-results.pdf")

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def rebuild(self, request, collective_slug: str, issued_document_id: int):
        """Rebuild an issued document from its frozen data (accountants and coordinators)."""
        document = get_object_or_404(IssuedDocument.objects.of(self.collective), pk=issued_document_id)
        return pdf_response(document, f"{document.kind}-{document.pk}.pdf")
