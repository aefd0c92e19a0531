"""Email notices. They name no document title or content: a title can itself be sensitive, and
mail leaves the system. They say that something happened and link to the portal.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db.models import Q

from accounts.models import User
from accounts.roles import Role, holders

from .models import Release, SharingAgreement
from .policy import can_read


def release_readers(release: Release) -> list[User]:
    """The people an approved release lets read the document now (named readers, or the organisation)."""
    named = list(release.audience.all())
    candidates = named or list(User.objects.filter(organisation_id=release.recipient_id, is_active=True))
    document = release.document
    return [user for user in candidates if can_read(user, document)]


def notify_release_approved(release: Release) -> int:
    """Tell each reader of an approved release that a document awaits them. Returns mails sent."""
    if release.status != Release.Status.APPROVED:
        return 0
    link = f"{settings.SITE_URL}/"
    subject = f"Accord: a document was released to {release.recipient.name}"
    body = (
        f"A document has been released to {release.recipient.name} under agreement "
        f"{release.agreement.reference}, and you may read it.\n\n"
        f"Sign in to Accord to read it: {link}\nRelease reference: {release.code}\n"
    )
    return _mail(release_readers(release), subject, body)


def notify_release_updated(release: Release) -> int:
    """Tell each reader of a release that a newer revision was released to them: only those who
    may read it now (the new revision's marking binds them), and no title or content."""
    if release.status != Release.Status.APPROVED:
        return 0
    subject = f"Accord: an updated document was released to {release.recipient.name}"
    body = (
        f"A newer revision of a document released to {release.recipient.name} under agreement "
        f"{release.agreement.reference} has been released, and you may read it.\n\n"
        f"Sign in to Accord to read it: {settings.SITE_URL}/\nRelease reference: {release.code}\n"
    )
    return _mail(release_readers(release), subject, body)


def notify_release_suspended(release: Release) -> int:
    """Tell both sides a release is suspended: out of scope. Neither mail names the new marking
    (the partner may not know it); the originator's officers read the reason on the portal."""
    if release.status != Release.Status.SUSPENDED:
        return 0
    originator = release.document.originator
    officers = holders(Role.RELEASE_OFFICER, originator).filter(is_active=True)
    partners = list(release.audience.filter(is_active=True)) or list(
        User.objects.filter(organisation_id=release.recipient_id, is_active=True)
    )
    subject = f"Accord: a release to {release.recipient.name} is suspended: out of scope"
    body = (
        f"A release to {release.recipient.name} under agreement {release.agreement.reference} is suspended: "
        f"out of scope. Access under it has ended until {originator.name}'s release officer reinstates it.\n\n"
        f"Sign in to Accord for details: {settings.SITE_URL}/\nRelease reference: {release.code}\n"
    )
    people = sorted({user.pk: user for user in [*officers, *partners]}.values(), key=lambda user: user.email)
    return _mail(people, subject, body)


def agreement_owners(agreement: SharingAgreement) -> list[User]:
    """Whoever answers for the agreement: its drafter and each party's signatories."""
    signatories = holders(Role.SIGNATORY, agreement.party_rows.values("organisation_id"))
    return list(
        User.objects.filter(Q(pk=agreement.created_by_id) | Q(pk__in=signatories), is_active=True).order_by("email")
    )


def notify_agreement_expiring(agreement: SharingAgreement) -> int:
    """Warn the owners that an agreement ends soon; every release under it ends with it."""
    subject = f"Accord: agreement {agreement.reference} expires on {agreement.expires_at:%Y-%m-%d}"
    body = (
        f"Sharing agreement {agreement.reference} ({agreement.title}) expires at "
        f"{agreement.expires_at:%Y-%m-%d %H:%M} UTC. Every release made under it ends then.\n\n"
        f"Renew it before that date if sharing should continue: {settings.SITE_URL}/\n"
    )
    return _mail(agreement_owners(agreement), subject, body)


def _mail(users: list[User], subject: str, body: str) -> int:
    """One message to each user, over one connection; how many were sent."""
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]) for user in users]
    return send_mass_mail(messages, fail_silently=False) if messages else 0
