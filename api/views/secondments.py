"""Secondments, read-only: the caller's own, and those from or to an organisation they administer.

A token always acts for its holder's home organisation (the API never reads the session that may
act for a host), so nothing the API answers is a host's through a secondment."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from exchanges.models import Secondment
from exchanges.selectors import visible_secondments


class SecondmentSerializer(serializers.ModelSerializer):
    person = serializers.CharField(source="person.email")
    home = serializers.CharField(source="home.short_name")
    host = serializers.CharField(source="host.short_name")
    agreement = serializers.CharField(source="agreement.reference")
    clearance = serializers.CharField(source="clearance.code")
    active = serializers.SerializerMethodField()

    class Meta:
        model = Secondment
        fields = [
            "code",
            "person",
            "home",
            "host",
            "agreement",
            "starts_at",
            "ends_at",
            "role",
            "clearance",
            "status",
            "active",
        ]
        read_only_fields = fields

    def get_active(self, secondment: Secondment) -> bool:
        return secondment.is_active_at(timezone.now())


class SecondmentListView(generics.ListAPIView):
    serializer_class = SecondmentSerializer

    def get_queryset(self) -> QuerySet[Secondment]:
        return (
            visible_secondments(self.request.user)
            .select_related("person", "home", "host", "agreement", "clearance")
            .order_by("-starts_at", "-pk")
        )

    @extend_schema(operation_id="secondments_list")
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)
