"""Factories for test data: people, documents, agreements, releases and attachments.

Countries, tiers, caveats and risk domains come from the seed migration; every factory takes
their codes (`tier="secret"`, `releasable_to=["USA"]`) as well as the objects. A test states only
what its story varies:

    bob = PersonFactory(organisation=usaisi, clearance="official-sensitive", read_ins=["joint-ex-1"])
    finding = DocumentFactory(author=alice, releasable_to=["USA"], compartments=["joint-ex-1"])
    release = ReleaseFactory(document=finding, agreement=uk_us, recipient=usaisi)

Rows are written straight to the database (the services have their own tests), except an
attachment, which is encrypted and stored through the real service so its ciphertext is real.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import timedelta

import factory
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import (
    ClearanceGrant,
    Compartment,
    Country,
    Organisation,
    ReadIn,
    Tier,
    User,
)
from accounts.roles import grant_role
from sharing.attachments import attachment_create_from_stream
from sharing.models import (
    AgreementParty,
    Attachment,
    Caveat,
    Document,
    DocumentRevision,
    Release,
    RiskDomain,
    SharingAgreement,
)
from sharing.services.releases import sync_grants
from sharing.services.revisions import snapshot_of
from sharing.visibility import keep
from vault.attachments import attachment_destroy
from vault.tasks import scan_attachment

PASSWORD = "correct horse battery staple"
DAY = timedelta(days=1)


# -- seeded reference data, by code ------------------------------------------------------------


def country(code: str | Country) -> Country:
    return code if isinstance(code, Country) else Country.objects.get(code=code)


def countries(*codes: str) -> list[Country]:
    return list(Country.objects.filter(code__in=codes))


def tier(code: str | Tier) -> Tier:
    return code if isinstance(code, Tier) else Tier.objects.get(code=code)


def caveat(code: str = "orcon") -> Caveat:
    return Caveat.objects.get(code=code)


def domains(*codes: str) -> list[RiskDomain]:
    return list(RiskDomain.objects.filter(code__in=codes))


def risk_domain(code: str) -> RiskDomain:
    return RiskDomain.objects.get(code=code)


def compartment(code: str | Compartment = "joint-ex-1", *, owner: Organisation | None = None) -> Compartment:
    """The compartment `code`, made on first use (owned by `owner` when one is named)."""
    if isinstance(code, Compartment):
        return code
    defaults = {"name": code.replace("-", " ").title(), "owner": owner}
    return Compartment.objects.get_or_create(code=code, defaults=defaults)[0]


def _each(values: Iterable, lookup) -> list:
    return [lookup(value) if isinstance(value, str) else value for value in values]


# -- people ------------------------------------------------------------------------------------


class OrganisationFactory(factory.django.DjangoModelFactory):
    """An institute; `OrganisationFactory(short_name="ukasi", country="GBR")` returns the one
    already made under that short name."""

    class Meta:
        model = Organisation
        django_get_or_create = ("short_name",)

    short_name = factory.Sequence(lambda n: f"inst{n}")
    name = factory.LazyAttribute(lambda o: f"{o.short_name} institute")
    country = "GBR"

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        kwargs["country"] = country(kwargs["country"])
        return kwargs


def give_role(user: User, role: str, organisation: Organisation | None = None) -> None:
    """Hold `role` for `organisation` (default: the user's own), as an organisation admin grants it."""
    grant_role(user, role, organisation or user.organisation)


class ClearanceGrantFactory(factory.django.DjangoModelFactory):
    """A clearance valid from a minute ago for a year; move the dates or revoke it to say otherwise."""

    class Meta:
        model = ClearanceGrant

    user = factory.SubFactory("tests.factories.PersonFactory")
    tier = "official-sensitive"
    valid_from = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=1))
    valid_until = factory.LazyFunction(lambda: timezone.now() + 365 * DAY)
    reason = "test"

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        kwargs["tier"] = tier(kwargs["tier"])
        return kwargs


def grant_clearance(user: User, tier_code: str, *, days: int = 365, by: User | None = None) -> ClearanceGrant:
    """Clear `user` to `tier_code` for `days` from now."""
    return ClearanceGrantFactory(
        user=user, tier=tier_code, valid_until=timezone.now() + timedelta(days=days), granted_by=by
    )


class ReadInFactory(factory.django.DjangoModelFactory):
    """A read-in granted yesterday, open-ended unless it expires or is revoked."""

    class Meta:
        model = ReadIn

    user = factory.SubFactory("tests.factories.PersonFactory")
    compartment = "joint-ex-1"
    granted_at = factory.LazyFunction(lambda: timezone.now() - DAY)

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        kwargs["compartment"] = compartment(kwargs["compartment"])
        return kwargs


class PersonFactory(factory.django.DjangoModelFactory):
    """A user of `organisation` (a national of its country unless `nationality` says otherwise)
    with, on request, roles, a clearance and read-ins:

        PersonFactory(organisation=ukasi, roles=["author"], clearance="official-sensitive")
        PersonFactory(organisation=usaisi, clearance="secret", clearance__valid_until=yesterday)
        PersonFactory(organisation=usaisi, nationality="FRA", read_ins=["joint-ex-1"])
    """

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    display_name = factory.Sequence(lambda n: f"Person {n}")
    organisation = factory.SubFactory(OrganisationFactory)
    nationality = factory.LazyAttribute(lambda o: o.organisation.country if o.organisation else "GBR")

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        kwargs["nationality"] = country(kwargs["nationality"])
        return kwargs

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def roles(obj, create, extracted, **kwargs):
        for role in [extracted] if isinstance(extracted, str) else extracted or ():
            give_role(obj, role)

    @factory.post_generation
    def clearance(obj, create, extracted, **kwargs):
        """`clearance="secret"`; `clearance__valid_until=…`, `clearance__revoked_at=…` and the
        other grant fields move its dates or end it."""
        if extracted:
            ClearanceGrantFactory(user=obj, tier=extracted, **kwargs)

    @factory.post_generation
    def read_ins(obj, create, extracted, **kwargs):
        """`read_ins=["joint-ex-1"]`; `read_ins__expires_at=…` or `read_ins__revoked_at=…` apply to each."""
        for code in extracted or ():
            ReadInFactory(user=obj, compartment=code, **kwargs)


def portal_admin_person(**kwargs) -> User:
    """A portal administrator: staff, of no organisation."""
    return PersonFactory(organisation=None, is_staff=True, **kwargs)


# -- documents ---------------------------------------------------------------------------------


class DocumentFactory(factory.django.DjangoModelFactory):
    """A finding with its marking, and revision 1 as the create service writes it.

    Name the `author` (the originator is theirs) or the `originator` (an author of it is made).
    The marking defaults to OFFICIAL-SENSITIVE, eyes only for the originator's country, with no
    compartment, caveat or topic; `releasable_to` always keeps the originator's country, as the
    service does. `revisions=3` writes revisions 1 to 3.
    """

    class Meta:
        model = Document
        skip_postgeneration_save = True

    title = "Jailbreak transfer across model versions"
    summary = "Short summary."
    body = "The **body** of the finding."
    author = factory.SubFactory(PersonFactory, roles=["author"], clearance="secret")
    originator = factory.SelfAttribute("author.organisation")
    tier = "official-sensitive"
    status = Document.Status.PUBLISHED
    published_at = factory.LazyAttribute(lambda o: None if o.status == Document.Status.DRAFT else timezone.now())
    withdrawn_at = factory.LazyAttribute(lambda o: timezone.now() if o.status == Document.Status.WITHDRAWN else None)

    @classmethod
    def create(cls, **kwargs):
        if "originator" in kwargs and "author" not in kwargs:
            kwargs["author"] = PersonFactory(organisation=kwargs["originator"], roles=["author"], clearance="secret")
        return super().create(**kwargs)

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        kwargs["tier"] = tier(kwargs["tier"])
        return kwargs

    @factory.post_generation
    def releasable_to(obj, create, extracted, **kwargs):
        chosen = _each(extracted or (), country)
        obj.releasable_to.set({*chosen, obj.originator.country})

    @factory.post_generation
    def compartments(obj, create, extracted, **kwargs):
        obj.compartments.set(_each(extracted or (), compartment))

    @factory.post_generation
    def caveats(obj, create, extracted, **kwargs):
        obj.caveats.set(_each(extracted or (), caveat))

    @factory.post_generation
    def risk_domains(obj, create, extracted, **kwargs):
        obj.risk_domains.set(_each(extracted or (), risk_domain))

    @factory.post_generation
    def revisions(obj, create, extracted, **kwargs):
        # After the marking (declared above), so the snapshot holds it.
        last = max(extracted or 1, 1)
        for number in range(1, last + 1):
            revision = DocumentRevision.objects.create(
                document=obj,
                number=number,
                author=obj.author,
                created_at=obj.updated_at,
                snapshot=snapshot_of(obj),
                changed_fields=["title", "tier"] if number == 1 else [],
                note="created" if number == 1 else "",
                tier=obj.tier,
            )
            revision.releasable_to.set(obj.releasable_to.all())
            revision.compartments.set(obj.compartments.all())
        if obj.revision != last:
            obj.revision = last
            obj.save(update_fields=["revision"])


def revise(document: Document, *, tier=None, releasable_to=None, compartments=None, **text) -> DocumentRevision:
    """Write the document's next revision straight to the database, as an edit would leave it:
    the given text fields (`title="…"`) and marking (codes or objects) change, the rest stays.

        revise(finding, body="corrected", compartments=[])
    """
    marking = {"tier": tier, "releasable_to": releasable_to, "compartments": compartments}
    marking = {name: value for name, value in marking.items() if value is not None}
    for name, value in text.items():
        setattr(document, name, value)
    if "tier" in marking:
        document.tier = Tier.objects.get(code=tier) if isinstance(tier, str) else tier
    document.revision += 1
    document.updated_at = timezone.now()
    document.save()
    if "releasable_to" in marking:
        document.releasable_to.set({*_each(releasable_to, country), document.originator.country})
    if "compartments" in marking:
        document.compartments.set(_each(compartments, compartment))
    revision = DocumentRevision.objects.create(
        document=document,
        number=document.revision,
        author=document.author,
        created_at=document.updated_at,
        snapshot=snapshot_of(document),
        changed_fields=[*sorted(text), *marking],
        marking_changed=bool(marking),
        tier=document.tier,
    )
    revision.releasable_to.set(document.releasable_to.all())
    revision.compartments.set(document.compartments.all())
    keep([document.pk])  # a re-mark changes what its releases cover, as the edit service keeps it
    return revision


# -- agreements and releases -------------------------------------------------------------------


class AgreementFactory(factory.django.DjangoModelFactory):
    """A sharing agreement in force since ten days ago for a year, up to OFFICIAL-SENSITIVE, on
    cyber offence and autonomy, signed by every party unless it is a draft.

        AgreementFactory(parties=[ukasi, usaisi], ceiling="secret", topics=["cbrn"], status="suspended")
    """

    class Meta:
        model = SharingAgreement
        skip_postgeneration_save = True

    reference = factory.Sequence(lambda n: f"MOU-{n + 1}")
    title = "Joint evaluation exchange"
    effective_from = factory.LazyFunction(lambda: timezone.now() - 10 * DAY)
    expires_at = factory.LazyFunction(lambda: timezone.now() + 365 * DAY)
    tier_ceiling = "official-sensitive"
    onward_sharing = False
    status = SharingAgreement.Status.ACTIVE
    created_by = factory.LazyFunction(portal_admin_person)
    activated_at = factory.LazyAttribute(
        lambda o: None if o.status == SharingAgreement.Status.DRAFT else timezone.now()
    )
    suspended_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.status == SharingAgreement.Status.SUSPENDED else None
    )
    terminated_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.status == SharingAgreement.Status.TERMINATED else None
    )

    class Params:
        ceiling = None

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        kwargs["tier_ceiling"] = tier(kwargs.pop("ceiling", None) or kwargs["tier_ceiling"])
        return kwargs

    @factory.post_generation
    def parties(obj, create, extracted, **kwargs):
        signed = obj.status != SharingAgreement.Status.DRAFT
        for party in extracted or ():
            AgreementParty.objects.create(
                agreement=obj,
                organisation=party,
                signed_by=obj.created_by if signed else None,
                signed_at=obj.activated_at if signed else None,
            )

    @factory.post_generation
    def topics(obj, create, extracted, **kwargs):
        codes = ("cyber-offence", "autonomy") if extracted is None else extracted
        obj.risk_domains.set(_each(codes, risk_domain))


class ReleaseFactory(factory.django.DjangoModelFactory):
    """A release of `document` to `recipient` under `agreement`, approved unless `status` says
    otherwise, with the view grants in place as approval leaves them (`grant=False` leaves them
    out). `status="revoked"` stamps the revocation; an `expires_at` in the past lapses it.

        ReleaseFactory(document=finding, agreement=uk_us, recipient=usaisi, status="requested")
    """

    class Meta:
        model = Release
        skip_postgeneration_save = True

    document = factory.SubFactory(DocumentFactory)
    recipient = factory.SubFactory(OrganisationFactory, country="USA")
    agreement = factory.LazyAttribute(lambda o: AgreementFactory(parties=[o.document.originator, o.recipient]))
    justification = "test"
    requested_by = factory.SelfAttribute("document.author")
    status = Release.Status.APPROVED
    decided_at = factory.LazyAttribute(lambda o: None if o.status == Release.Status.REQUESTED else timezone.now())
    revoked_at = factory.LazyAttribute(lambda o: timezone.now() if o.status == Release.Status.REVOKED else None)
    # A decided release pins the document's latest revision, as approval does.
    revision = factory.LazyAttribute(
        lambda o: None if o.status == Release.Status.REQUESTED else o.document.revisions.order_by("-number").first()
    )

    @factory.post_generation
    def audience(obj, create, extracted, **kwargs):
        obj.audience.set(list(extracted or ()))

    @factory.post_generation
    def grant(obj, create, extracted, **kwargs):
        if extracted is None or extracted:
            sync_grants(document_ids=[obj.document_id])
        else:  # the rows stay as they were; what the rules decide is kept, as a service would
            keep([obj.document_id])


def pass_on(document: Document) -> None:
    """Move every approved release of `document` to its latest revision, as an approved update
    leaves it (`release_update_approve`): for tests that attach files after releasing, since a
    release pins the revision its officer approved, files included."""
    latest = document.revisions.order_by("-number").first()
    Release.objects.filter(document=document, status=Release.Status.APPROVED).update(revision=latest)
    sync_grants(document_ids=[document.pk])


# -- attachments -------------------------------------------------------------------------------


@contextmanager
def _open_while_attaching(document: Document):
    """Withdrawn means frozen, so a withdrawn document's files were all attached before it was
    withdrawn: for one made withdrawn at once, attach as of then (its status before, for the
    upload only), and leave it withdrawn again."""
    if document.status != Document.Status.WITHDRAWN:
        yield
        return
    before = Document.Status.PUBLISHED if document.published_at else Document.Status.DRAFT
    Document.objects.filter(pk=document.pk).update(status=before)
    document.status = before
    try:
        yield
    finally:
        Document.objects.filter(pk=document.pk).update(status=Document.Status.WITHDRAWN)
        document.status = Document.Status.WITHDRAWN


class AttachmentFactory(factory.django.DjangoModelFactory):
    """An attachment of `document`, encrypted and stored through the upload service (so the
    ciphertext, its key and its audit event are real) and scanned clean unless `scan=False`
    (it stays pending, as before the worker runs). `destroyed=True` crypto-shreds it.

    Store into a test's own folder (`settings.MEDIA_ROOT`): the sharing and API conftests do.
    """

    class Meta:
        model = Attachment
        skip_postgeneration_save = True

    document = factory.SubFactory(DocumentFactory)
    uploaded_by = factory.SelfAttribute("document.author")
    data = b"hello, world\n"
    filename = "notes.txt"
    content_type = "text/plain"
    scan = True

    @classmethod
    def _create(cls, model_class, *, document, uploaded_by, data, filename, content_type, scan, **kwargs):
        with _open_while_attaching(document):
            attachment = attachment_create_from_stream(
                actor=uploaded_by,
                document=document,
                stream=io.BytesIO(data),
                filename=filename,
                content_type=content_type,
                **kwargs,
            )
        if scan and transaction.get_connection().in_atomic_block:
            # Inside a test's transaction no commit comes to run the queued scan: do what the
            # worker would. Outside one, the commit has run it already.
            scan_attachment(str(attachment.code))
        return model_class.objects.get(pk=attachment.pk)

    @factory.post_generation
    def destroyed(obj, create, extracted, **kwargs):
        if extracted:
            destroyed = attachment_destroy(actor=obj.uploaded_by, attachment=obj)
            obj.wrapped_dek, obj.destroyed_at, obj.destroyed_by = (
                destroyed.wrapped_dek,
                destroyed.destroyed_at,
                destroyed.destroyed_by,
            )


# -- signing in --------------------------------------------------------------------------------


def totp_device(user: User) -> TOTPDevice:
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="Authenticator", defaults={"confirmed": True})
    return device


def login_verified(client, user: User) -> None:
    """Sign the test client in as `user`, past MFA with TOTP, as the real journey would leave it."""
    _login_with(client, user, totp_device(user))


def security_key(user: User, name: str = "YubiKey") -> WebAuthnCredential:
    """A confirmed security key of `user` (its public key is a placeholder: no ceremony uses it)."""
    credential_id = secrets.token_bytes(32)
    return WebAuthnCredential.objects.create(
        user=user, name=name, confirmed=True, credential_id=credential_id, public_key=b"\xa5", sign_count=0
    )


def login_with_key(client, user: User, key: WebAuthnCredential | None = None) -> WebAuthnCredential:
    """Sign the test client in as `user`, verified with a security key just now (fresh for step-up)."""
    key = key or WebAuthnCredential.objects.filter(user=user).first() or security_key(user)
    _login_with(client, user, key)
    return key


def _login_with(client, user: User, device) -> None:
    from django_otp import DEVICE_ID_SESSION_KEY

    from accounts.stepup import TOTP_AT, WEBAUTHN_AT

    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[WEBAUTHN_AT if isinstance(device, WebAuthnCredential) else TOTP_AT] = timezone.now().timestamp()
    session.save()
