"""Bank details in the API: mine, in full; a member's, masked, for coordinators and accountants."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from contrib_budget.api import CollectiveScopedMixin, SingleLineField

from . import bank
from .bank import BIC_TYPED_MAX, IBAN_TYPED_MAX
from .models import HOLDER_MAX, BankDetails, Membership, PaymentMethod
from .permissions import READ_BANK_DETAILS


class BankDetailsSerializer(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=PaymentMethod.choices, allow_blank=True,
        help_text=gettext_lazy("How I am paid; empty in an answer when nothing is recorded yet."),
    )
    iban = SingleLineField(required=False, allow_blank=True, max_length=IBAN_TYPED_MAX, default="",
                           help_text=gettext_lazy("Spaces and lower case are accepted; stored and answered "
                                                  "without spaces, in upper case. Required for a transfer."))
    iban_masked = serializers.CharField(read_only=True, help_text=gettext_lazy("e.g. FR76 •••• 0189"))
    bic = SingleLineField(required=False, allow_blank=True, max_length=BIC_TYPED_MAX, default="",
                          help_text=gettext_lazy("Derived from the IBAN when its bank is known; a BIC given must "
                                                 "be that bank's."))
    holder = SingleLineField(required=False, allow_blank=True, max_length=HOLDER_MAX, default="",
                             help_text=gettext_lazy("The account holder's name. Required for a transfer."))
    payroll_reference = SingleLineField(required=False, allow_blank=True, max_length=100, default="",
                                        help_text=gettext_lazy("Required when paid through payroll."))
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def validate_method(self, value: str) -> str:
        if not value:
            raise serializers.ValidationError(gettext_lazy("Choose how you are paid: “transfer” or “payroll”."))
        return value


class MaskedBankDetailsSerializer(serializers.Serializer):
    method = serializers.CharField(help_text=gettext_lazy("“transfer”, “payroll”, or empty when nothing is "
                                                          "recorded."))
    iban_masked = serializers.CharField(help_text=gettext_lazy("e.g. FR76 •••• 0189"))
    bic = serializers.CharField()
    holder = serializers.CharField()
    payroll_reference = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)


def _body(details: BankDetails | None, *, full: bool) -> dict:
    if details is None:
        body = {"method": "", "iban": "", "iban_masked": "", "bic": "", "holder": "", "payroll_reference": "",
                "updated_at": None}
    else:
        body = {"method": details.method, "iban": details.iban, "iban_masked": bank.mask_iban(details.iban),
                "bic": details.bic, "holder": details.holder, "payroll_reference": details.payroll_reference,
                "updated_at": details.updated_at}
    if not full:
        del body["iban"]
    return body


@extend_schema(tags=["members"])
class MyBankDetailsView(CollectiveScopedMixin, APIView):
    """How I am paid in this collective: by transfer (IBAN and holder) or through payroll (a reference). Only I see
    my IBAN in full; coordinators and accountants see it masked. Before anything is recorded, GET answers 200 with
    an empty `method` and empty fields. Every change is audited (IBAN masked) and notified to me."""

    @extend_schema(responses=BankDetailsSerializer)
    def get(self, request, collective_slug):
        details = bank.bank_details_get(collective=self.collective, person=request.user)
        return Response(BankDetailsSerializer(_body(details, full=True)).data)

    @extend_schema(request=BankDetailsSerializer, responses=BankDetailsSerializer)
    def put(self, request, collective_slug):
        serializer = BankDetailsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        details = bank.bank_details_set(
            collective=self.collective, person=request.user, actor=request.user, method=data["method"],
            iban=data["iban"], holder=data["holder"], payroll_reference=data["payroll_reference"], bic=data["bic"],
        )
        return Response(BankDetailsSerializer(_body(details, full=True)).data)


@extend_schema(tags=["members"])
class MemberBankDetailsViewSet(CollectiveScopedMixin, viewsets.ViewSet):
    """How a member is paid, the IBAN masked: for coordinators and accountants. Nothing recorded: 200 with an
    empty `method`."""

    required_roles = READ_BANK_DETAILS.roles

    @extend_schema(responses=MaskedBankDetailsSerializer)
    def retrieve(self, request, collective_slug, membership_id):
        membership = get_object_or_404(Membership.objects.of(self.collective).select_related("user"),
                                       pk=membership_id)
        details = bank.bank_details_get(collective=self.collective, person=membership.user)
        return Response(MaskedBankDetailsSerializer(_body(details, full=False)).data)
