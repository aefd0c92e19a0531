"""Every write to people, organisations and clearances goes through these services.

Each takes keyword-only arguments and an explicit `actor` (None only for the system itself),
checks the rules, and writes its change and its audit event in one transaction.
"""

from __future__ import annotations

from .clearances import (
    clearance_approve,
    clearance_grant,
    clearance_refuse,
    clearance_renew,
    clearance_revoke,
    readin_grant,
    readin_revoke,
)
from .compartments import compartment_create
from .credentials import credentials_end, enrolment_device, mfa_enrol_confirm, new_enrolment_secret, password_set
from .keys import has_security_key, keys_of, security_key_enrolled, security_key_remove, security_key_rename
from .nominations import readin_nominate, readin_nomination_approve, readin_nomination_decline
from .people import (
    mfa_reset,
    organisation_create,
    role_grant,
    role_revoke,
    user_create,
    user_deactivate,
)

__all__ = [
    "clearance_approve",
    "clearance_grant",
    "clearance_refuse",
    "clearance_renew",
    "clearance_revoke",
    "compartment_create",
    "credentials_end",
    "enrolment_device",
    "has_security_key",
    "keys_of",
    "mfa_enrol_confirm",
    "mfa_reset",
    "new_enrolment_secret",
    "organisation_create",
    "password_set",
    "readin_grant",
    "readin_nominate",
    "readin_nomination_approve",
    "readin_nomination_decline",
    "readin_revoke",
    "role_grant",
    "role_revoke",
    "security_key_enrolled",
    "security_key_remove",
    "security_key_rename",
    "user_create",
    "user_deactivate",
]
