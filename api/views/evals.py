"""Eval results parsed from Inspect logs: a run is visible exactly when its log's document is."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import Action
from audit.reasons import Reason
from audit.services import refuse
from evals.models import EvalRun
from evals.selectors import readable_runs as visible_runs
from evals.selectors import with_details
from sharing.models import Attachment
from sharing.services.listings import documents_listed

from ..listings import page_objects
from ..serializers import EvalRunFilterSerializer, EvalRunSerializer


def readable_runs(user) -> QuerySet[EvalRun]:
    """Runs whose log is a clean attachment of a document `user` may read (one query); the
    rule itself is `evals.selectors.readable_runs`, shared with the results pages."""
    document_code = Attachment.objects.filter(code=OuterRef("attachment_code")).values("document__code")[:1]
    return with_details(visible_runs(user)).annotate(document_code=Subquery(document_code))


class EvalRunListView(generics.ListAPIView):
    serializer_class = EvalRunSerializer

    def get_queryset(self) -> QuerySet[EvalRun]:
        filters = EvalRunFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        runs = readable_runs(self.request.user)
        if data.get("model"):
            runs = runs.filter(model__iexact=data["model"])
        if data.get("task"):
            runs = runs.filter(task__iexact=data["task"])
        if data.get("status"):
            runs = runs.filter(status=data["status"])
        if data.get("document"):
            runs = runs.filter(
                attachment_code__in=Attachment.objects.filter(document__code=data["document"]).values("code")
            )
        if data.get("risk_domain"):
            runs = runs.filter(
                attachment_code__in=Attachment.objects.filter(document__risk_domains=data["risk_domain"]).values("code")
            )
        return runs.order_by("task", "model", "-created_at", "-pk")

    @extend_schema(operation_id="eval_runs_list", parameters=[EvalRunFilterSerializer])
    def get(self, request, *args, **kwargs):
        response = self.list(request, *args, **kwargs)
        runs = page_objects(self)
        documents_listed(actor=request.user, documents=[run.document_code for run in runs], page="eval-runs", via="api")
        return response


class EvalRunDetailView(APIView):
    @extend_schema(operation_id="eval_runs_retrieve", responses=EvalRunSerializer)
    def get(self, request, code):
        run = readable_runs(request.user).filter(code=code).first()
        if run is None:
            target = ("evals.evalrun", str(code), "")
            error = Http404("No such eval run.")
            refuse(
                request.user,
                Action.ACCESS_DENIED,
                target,
                Reason.NO_SUCH_EVAL_RUN,
                error=error,
                details={"wanted": "read"},
            )
        return Response(EvalRunSerializer(run).data)
