"""Joint testing exercises and their protocol versions, read-only: those the caller sees
(exercises/policy.py: a participant's people read in to the exercise's compartment)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import Action
from audit.services import record
from exercises.marking import marking_of
from exercises.models import Exercise, ExerciseRun, ProtocolVersion
from exercises.policy import exercise_for_member, protocol_version_for_member, visible_exercises, visible_runs
from exercises.protocol import export_version
from exercises.selectors import adopted_version
from exercises.services import run_create

from ..listings import page_objects


class ModelSerializer(serializers.Serializer):
    developer = serializers.CharField()
    name = serializers.CharField()
    version = serializers.CharField()


class ProtocolVersionSummarySerializer(serializers.ModelSerializer):
    signed_by = serializers.SerializerMethodField()

    class Meta:
        model = ProtocolVersion
        fields = ["code", "number", "status", "digest", "drafted_at", "adopted_at", "signed_by"]
        read_only_fields = fields

    def get_signed_by(self, version: ProtocolVersion) -> list[str]:
        return [signature.organisation.short_name for signature in version.signatures.all()]


class ExerciseSerializer(serializers.ModelSerializer):
    agreement = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lead = serializers.SlugRelatedField(slug_field="short_name", read_only=True)
    participants = serializers.SerializerMethodField()
    target_model = serializers.SerializerMethodField()
    reference_models = ModelSerializer(many=True, read_only=True)
    risk_domains = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    banner = serializers.SerializerMethodField()
    protocol_versions = ProtocolVersionSummarySerializer(many=True, read_only=True)

    class Meta:
        model = Exercise
        fields = [
            "code",
            "reference",
            "title",
            "phase",
            "agreement",
            "lead",
            "participants",
            "target_model",
            "reference_models",
            "risk_domains",
            "banner",
            "created_at",
            "protocol_versions",
        ]
        read_only_fields = fields

    def get_participants(self, exercise: Exercise) -> list[str]:
        return sorted(row.organisation.short_name for row in exercise.participant_rows.all())

    def get_target_model(self, exercise: Exercise) -> dict[str, str]:
        return {
            "developer": exercise.target_developer,
            "name": exercise.target_name,
            "version": exercise.target_version,
            "access": exercise.target_access,
        }

    def get_banner(self, exercise: Exercise) -> str:
        return marking_of(exercise).banner()


def _loaded(queryset: QuerySet[Exercise]) -> QuerySet[Exercise]:
    return queryset.select_related("agreement", "lead", "tier", "compartment").prefetch_related(
        "participant_rows__organisation",
        "reference_models",
        "risk_domains",
        "releasable_to",
        "protocol_versions__signatures__organisation",
    )


class ExerciseListView(generics.ListAPIView):
    serializer_class = ExerciseSerializer

    def get_queryset(self) -> QuerySet[Exercise]:
        return _loaded(visible_exercises(self.request.user)).order_by("-created_at", "-pk")

    @extend_schema(operation_id="exercises_list")
    def get(self, request, *args, **kwargs):
        response = self.list(request, *args, **kwargs)
        shown = [exercise.code for exercise in page_objects(self)]
        record(
            Action.EXERCISE_LISTED, actor=request.user, subjects={"exercises.exercise": shown}, details={"via": "api"}
        )
        return response


class ExerciseDetailView(APIView):
    @extend_schema(operation_id="exercises_retrieve", responses=ExerciseSerializer)
    def get(self, request, code):
        exercise = exercise_for_member(request.user, code)
        record(Action.EXERCISE_VIEWED, actor=request.user, target=exercise, details={"via": "api"})
        return Response(ExerciseSerializer(_loaded(Exercise.objects.filter(pk=exercise.pk)).get()).data)


class ProtocolVersionView(APIView):
    @extend_schema(
        operation_id="protocol_versions_retrieve",
        responses=OpenApiTypes.OBJECT,
        description="The protocol version as the JSON a pipeline reads to launch its Inspect runs (docs/API.md).",
    )
    def get(self, request, code):
        version = protocol_version_for_member(request.user, code, wanted="export protocol")
        version = ProtocolVersion.objects.prefetch_related("tasks", "signatures__organisation").get(pk=version.pk)
        record(
            Action.PROTOCOL_EXPORTED,
            actor=request.user,
            target=version,
            details={"version": version.number, "via": "api"},
        )
        return Response(export_version(version))


class ExerciseRunSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="short_name", read_only=True)
    document = serializers.SlugRelatedField(slug_field="code", read_only=True)
    protocol_version = serializers.SlugRelatedField(slug_field="code", read_only=True)
    version = serializers.IntegerField(source="protocol_version.number", read_only=True)
    upload = serializers.SerializerMethodField(help_text="Where the run's Inspect logs are uploaded (POST the file)")

    class Meta:
        model = ExerciseRun
        fields = ["code", "organisation", "document", "protocol_version", "version", "registered_at", "upload"]
        read_only_fields = fields

    def get_upload(self, run: ExerciseRun) -> str:
        return reverse("api:document_attachments", args=[run.document.code])


class ExerciseRunCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)


class ExerciseRunsView(APIView):
    """The runs of an exercise whose finding the caller may read; POST starts the caller's
    organisation's run under the adopted protocol (an author read in, while it is running)."""

    @extend_schema(operation_id="exercise_runs_list", responses=ExerciseRunSerializer(many=True))
    def get(self, request, code):
        exercise = exercise_for_member(request.user, code, wanted="list runs")
        runs = visible_runs(request.user, exercise).select_related("organisation", "document", "protocol_version")
        return Response(ExerciseRunSerializer(runs.order_by("registered_at", "pk"), many=True).data)

    @extend_schema(operation_id="exercise_runs_create", request=ExerciseRunCreateSerializer,
                   responses={201: ExerciseRunSerializer})  # fmt: skip
    def post(self, request, code):
        exercise = exercise_for_member(request.user, code, wanted="start run")
        body = ExerciseRunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        title = body.validated_data.get("title", "")
        run = run_create(actor=request.user, exercise=exercise, version=adopted_version(exercise), title=title)
        return Response(ExerciseRunSerializer(run).data, status=status.HTTP_201_CREATED)
