"""What the API says about documents, attachments and eval results, and what it accepts.

Marking and taxonomy values travel as codes (`official-sensitive`, `GBR`, `cbrn`), the same
codes the portal's filters use; organisations by short name; objects by their UUID `code`.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import compartments
from accounts.models import Compartment, Country, Organisation, Tier, User
from sharing.marking import marking_of
from sharing.models import Attachment, Caveat, Document, Release, RiskDomain, SharingAgreement


class CodeField(serializers.SlugRelatedField):
    """A related object named by its code. Refuses NUL characters before any query: PostgreSQL
    cannot hold them in text, and they name nothing."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)


# -- documents ---------------------------------------------------------------------------------


class MarkingSerializer(serializers.Serializer):
    tier = serializers.CharField(help_text="Tier code, e.g. official-sensitive")
    releasable_to = serializers.ListField(child=serializers.CharField(), help_text="ISO 3166 alpha-3 codes")
    compartments = serializers.ListField(child=serializers.CharField())
    caveats = serializers.ListField(child=serializers.CharField())
    banner = serializers.CharField(help_text="e.g. OFFICIAL-SENSITIVE // REL TO USA, GBR")


class DocumentSerializer(serializers.ModelSerializer):
    originator = serializers.SlugRelatedField(slug_field="short_name", read_only=True)
    author = serializers.CharField(source="author.display_name", read_only=True)
    marking = serializers.SerializerMethodField()
    risk_domains = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "code",
            "url",
            "title",
            "summary",
            "body",
            "status",
            "revision",
            "originator",
            "author",
            "model_developer",
            "model_name",
            "model_version",
            "risk_domains",
            "marking",
            "created_at",
            "updated_at",
            "published_at",
            "withdrawn_at",
        ]
        read_only_fields = fields

    @extend_schema_field(MarkingSerializer)
    def get_marking(self, document: Document) -> dict:
        marking = marking_of(document)
        request = self.context.get("request")
        country = getattr(getattr(request, "user", None), "nationality_id", None)
        return {
            "tier": document.tier.code,
            "releasable_to": sorted(marking.releasable_to),
            "compartments": sorted(marking.compartments),
            "caveats": sorted(c.code for c in document.caveats.all()),
            "banner": marking.banner(country),
        }

    def get_url(self, document: Document) -> str:
        return reverse("api:document_detail", args=[document.code])


class DocumentListSerializer(DocumentSerializer):
    """The list leaves out the body; fetch a document for its text."""

    class Meta(DocumentSerializer.Meta):
        fields = [f for f in DocumentSerializer.Meta.fields if f != "body"]
        read_only_fields = fields


class DocumentWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    summary = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    body = serializers.CharField(required=False, allow_blank=True, max_length=1_000_000)
    model_developer = serializers.CharField(required=False, allow_blank=True, max_length=120)
    model_name = serializers.CharField(required=False, allow_blank=True, max_length=120)
    model_version = serializers.CharField(required=False, allow_blank=True, max_length=60)
    tier = CodeField(slug_field="code", queryset=Tier.objects.all())
    releasable_to = CodeField(slug_field="code", queryset=Country.objects.all(), many=True, required=False)
    compartments = CodeField(slug_field="code", queryset=Compartment.objects.all(), many=True, required=False)
    caveats = CodeField(slug_field="code", queryset=Caveat.objects.all(), many=True, required=False)
    risk_domains = CodeField(slug_field="code", queryset=RiskDomain.objects.all(), many=True, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the compartments the caller's organisation may see are codes at all: a code it may
        # not see answers like one that names nothing.
        request = self.context.get("request")
        organisation = getattr(getattr(request, "user", None), "organisation", None)
        self.fields["compartments"].child_relation.queryset = compartments.visible_to(organisation)


class DocumentUpdateSerializer(DocumentWriteSerializer):
    """Every field optional: what is left out stays as it is."""

    base_revision = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The revision the change is based on; refused (400) if the document moved on since.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class DocumentFilterSerializer(serializers.Serializer):
    """The document list's filters: the same as the portal's list page."""

    q = serializers.CharField(required=False, max_length=200, help_text="Words in the title, summary or body")
    tier = CodeField(slug_field="code", queryset=Tier.objects.all(), required=False)
    risk_domain = CodeField(slug_field="code", queryset=RiskDomain.objects.all(), required=False)
    model_developer = serializers.CharField(required=False, max_length=120)
    model_name = serializers.CharField(required=False, max_length=120)
    originator = CodeField(slug_field="short_name", queryset=Organisation.objects.all(), required=False)
    status = serializers.ChoiceField(choices=Document.Status.choices, required=False)
    date_from = serializers.DateField(required=False, help_text="Published (or created) on or after")
    date_to = serializers.DateField(required=False, help_text="Published (or created) on or before")


# -- attachments -------------------------------------------------------------------------------


class AttachmentSerializer(serializers.ModelSerializer):
    document = serializers.SlugRelatedField(slug_field="code", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "code",
            "document",
            "filename",
            "declared_type",
            "sniffed_type",
            "size",
            "sha256",
            "uploaded_at",
            "scan_status",
            "scan_reason",
            "destroyed_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, attachment: Attachment) -> str:
        return reverse("api:attachment_download", args=[attachment.code])


# -- eval results ------------------------------------------------------------------------------


class EvalScoreSerializer(serializers.Serializer):
    scorer_name = serializers.CharField()
    scorer = serializers.CharField()
    reducer = serializers.CharField()
    metric = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    stderr = serializers.FloatField(allow_null=True)


class EvalModelUsageSerializer(serializers.Serializer):
    model = serializers.CharField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    input_tokens_cache_write = serializers.IntegerField(allow_null=True)
    input_tokens_cache_read = serializers.IntegerField(allow_null=True)
    reasoning_tokens = serializers.IntegerField(allow_null=True)
    total_cost = serializers.FloatField(allow_null=True)


class EvalRunSerializer(serializers.Serializer):
    code = serializers.UUIDField()
    attachment = serializers.UUIDField(source="attachment_code", allow_null=True)
    document = serializers.UUIDField(source="document_code", allow_null=True)
    parse_status = serializers.CharField()
    parse_error = serializers.CharField()
    log_format = serializers.CharField()
    status = serializers.CharField()
    task = serializers.CharField()
    task_version = serializers.CharField()
    model = serializers.CharField()
    eval_id = serializers.CharField()
    run_id = serializers.CharField()
    created_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    dataset_name = serializers.CharField()
    dataset_samples = serializers.IntegerField(allow_null=True)
    epochs = serializers.IntegerField(allow_null=True)
    total_samples = serializers.IntegerField(allow_null=True)
    completed_samples = serializers.IntegerField(allow_null=True)
    error_message = serializers.CharField()
    scores = EvalScoreSerializer(many=True)
    model_usage = EvalModelUsageSerializer(many=True)


class EvalRunFilterSerializer(serializers.Serializer):
    model = serializers.CharField(required=False, max_length=255, help_text="Evaluated model, e.g. openai/gpt-4o")
    task = serializers.CharField(required=False, max_length=255)
    risk_domain = CodeField(slug_field="code", queryset=RiskDomain.objects.all(), required=False)
    document = serializers.UUIDField(required=False)
    status = serializers.CharField(required=False, max_length=10)


# -- releases and agreements -------------------------------------------------------------------


class ReleaseSerializer(serializers.ModelSerializer):
    document = serializers.SlugRelatedField(slug_field="code", read_only=True)
    agreement = serializers.SlugRelatedField(slug_field="code", read_only=True)
    agreement_reference = serializers.CharField(source="agreement.reference", read_only=True)
    recipient = serializers.SlugRelatedField(slug_field="short_name", read_only=True)
    audience = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    requested_by = serializers.CharField(source="requested_by.display_name", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = [
            "code",
            "url",
            "document",
            "agreement",
            "agreement_reference",
            "recipient",
            "audience",
            "justification",
            "status",
            "requested_by",
            "requested_at",
            "decided_at",
            "decision_reason",
            "expires_at",
            "revoked_at",
        ]
        read_only_fields = fields

    def get_url(self, release: Release) -> str:
        return reverse("api:release_detail", args=[release.code])


class ReleaseRequestSerializer(serializers.Serializer):
    document = serializers.UUIDField(help_text="The published document's code")
    agreement = serializers.UUIDField(help_text="The agreement's code")
    recipients = CodeField(slug_field="short_name", queryset=Organisation.objects.all(), many=True, allow_empty=False)
    audience = CodeField(
        slug_field="code",
        queryset=User.objects.all(),
        many=True,
        required=False,
        help_text="Codes of named readers, to narrow the release (empty: the whole organisation)",
    )
    justification = serializers.CharField(max_length=2000)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class DecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class UpdateDecisionSerializer(serializers.Serializer):
    revision = serializers.IntegerField(min_value=1, help_text="The latest revision's number, as you were shown it")
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class AgreementPartySerializer(serializers.Serializer):
    organisation = serializers.CharField(source="organisation.short_name")
    country = serializers.CharField(source="organisation.country_id")
    signed_at = serializers.DateTimeField(allow_null=True)


class AgreementSerializer(serializers.ModelSerializer):
    parties = AgreementPartySerializer(source="party_rows", many=True, read_only=True)
    tier_ceiling = serializers.SlugRelatedField(slug_field="code", read_only=True)
    risk_domains = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = SharingAgreement
        fields = [
            "code",
            "reference",
            "title",
            "status",
            "parties",
            "effective_from",
            "expires_at",
            "tier_ceiling",
            "risk_domains",
            "onward_sharing",
            "personnel_exchanges",
            "seconded_staff_read_partner_material",
            "retention_days",
        ]
        read_only_fields = fields
