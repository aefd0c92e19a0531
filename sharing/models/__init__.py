"""Documents, their marking and attachments, the keys that protect them, agreements and releases."""

from __future__ import annotations

from .agreements import AgreementParty, Release, SharingAgreement
from .attachments import Attachment, OrganisationKey
from .documents import (
    Caveat,
    Document,
    DocumentGroupObjectPermission,
    DocumentRevision,
    DocumentUserObjectPermission,
    RiskDomain,
)

__all__ = [
    "AgreementParty",
    "Attachment",
    "Caveat",
    "Document",
    "DocumentGroupObjectPermission",
    "DocumentRevision",
    "DocumentUserObjectPermission",
    "OrganisationKey",
    "Release",
    "RiskDomain",
    "SharingAgreement",
]
