"""Documents, their marking and attachments, agreements and releases."""

from __future__ import annotations

from .agreements import AgreementParty, Release, SharingAgreement
from .attachments import Attachment
from .documents import (
    Caveat,
    Document,
    DocumentGroupObjectPermission,
    DocumentRevision,
    DocumentUserObjectPermission,
    RiskDomain,
)
from .proposals import MarkingProposal
from .visibility import Visibility

__all__ = [
    "AgreementParty",
    "Attachment",
    "Caveat",
    "Document",
    "DocumentGroupObjectPermission",
    "DocumentRevision",
    "DocumentUserObjectPermission",
    "MarkingProposal",
    "Release",
    "RiskDomain",
    "SharingAgreement",
    "Visibility",
]
