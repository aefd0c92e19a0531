"""Agreements, read-only: those the caller's organisation is party to (all, for portal admins)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from sharing.models import SharingAgreement
from sharing.policy import agreement_for_party, visible_agreements

from ..serializers import AgreementSerializer


def _loaded(queryset: QuerySet[SharingAgreement]) -> QuerySet[SharingAgreement]:
    return queryset.select_related("tier_ceiling").prefetch_related("party_rows__organisation", "risk_domains")


class AgreementListView(generics.ListAPIView):
    serializer_class = AgreementSerializer

    def get_queryset(self) -> QuerySet[SharingAgreement]:
        return _loaded(visible_agreements(self.request.user)).order_by("-effective_from", "-pk")

    @extend_schema(operation_id="agreements_list")
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class AgreementDetailView(APIView):
    @extend_schema(operation_id="agreements_retrieve", responses=AgreementSerializer)
    def get(self, request, code):
        agreement = agreement_for_party(request.user, code)
        return Response(AgreementSerializer(_loaded(SharingAgreement.objects.filter(pk=agreement.pk)).get()).data)
