"""Why something was refused: stable codes, and the sentence a person reads for each.

Code compares codes (`decision.reason == Reason.CLEARANCE_BELOW_TIER`) and the audit trail
stores them (`details["reason"]`), so rewording a sentence never changes what code decides or
what the chain holds. The sentence is made from the code when it is shown: an error message,
a form error, an export. Some sentences name a value (`{organisation}`, `{status}`); that value
is stored next to the code in the event's details, under the same name.

Events recorded before the codes existed hold the sentence itself; `sentence_of()` shows those
as they were stored. The codes of the people-and-clearance services were codes already and keep
their values.

This module knows no domain app: codes are plain strings, and every app may import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Reason(StrEnum):
    """One code per refusal sentence; the value is what the audit trail stores."""

    ALLOWED = "allowed"

    # Who is asking (the account and its organisation).
    NOT_SIGNED_IN = "not_signed_in"
    ACCOUNT_INACTIVE = "account_inactive"
    NOT_MFA_VERIFIED = "not_mfa_verified"
    SECURITY_KEY_NEEDED = "security_key_needed"
    STEP_UP_NEEDED = "step_up_needed"
    TOKEN_DECIDE_SCOPE = "token_decide_scope"  # noqa: S105  # nosec B105
    NO_ORGANISATION = "actor_no_organisation"
    ORGANISATION_INACTIVE = "organisation_inactive"
    NO_ACTIVE_ORGANISATION = "no_active_organisation"
    NOT_AN_AUTHOR = "not_an_author"
    NOT_THE_ORIGINATOR = "not_the_originator"
    NOT_OF_ORIGINATING_ORGANISATION = "not_of_originating_organisation"
    NOT_A_RELEASE_OFFICER = "not_a_release_officer"
    NOT_A_RELEASE_OFFICER_OF_ORIGINATOR = "not_a_release_officer_of_originator"
    NOT_A_PORTAL_ADMIN = "not_a_portal_admin"
    ONLY_PORTAL_ADMIN = "only_portal_admin"
    NOT_A_SIGNATORY = "not_a_signatory"
    NOT_A_SIGNATORY_OF = "not_a_signatory_of"
    NOT_AN_ORGANISATION_ADMIN = "not_an_organisation_admin"

    # Reading a document (the gates of sharing.policy, in order).
    NO_SUCH_DOCUMENT = "no_such_document"
    DOCUMENT_DRAFT = "document_draft"
    DOCUMENT_WITHDRAWN = "document_withdrawn"
    NOT_RELEASED_TO_ORGANISATION = "not_released_to_organisation"
    CLEARANCE_BELOW_TIER = "clearance_below_tier"
    NATIONALITY_NOT_RELEASABLE = "nationality_not_releasable"
    NOT_READ_IN_TO = "not_read_in_to"
    NO_VIEW_GRANT = "no_view_grant"

    # A release, and the agreement it is made under.
    RELEASE_REQUESTED = "release_requested"
    RELEASE_REFUSED = "release_refused"
    RELEASE_REVOKED = "release_revoked"
    RELEASE_SUSPENDED = "release_suspended"
    RELEASE_EXPIRED = "release_expired"
    RELEASE_PAST_EXPIRY = "release_past_expiry"
    NOT_IN_AUDIENCE = "not_in_audience"
    RECIPIENT_NOT_A_PARTY = "recipient_not_a_party"
    AGREEMENT_DRAFT = "agreement_draft"
    AGREEMENT_SUSPENDED = "agreement_suspended"
    AGREEMENT_TERMINATED = "agreement_terminated"
    AGREEMENT_EXPIRED = "agreement_expired"
    AGREEMENT_NOT_YET_IN_EFFECT = "agreement_not_yet_in_effect"
    AGREEMENT_PAST_EXPIRY = "agreement_past_expiry"
    ORIGINATOR_NOT_A_PARTY = "originator_not_a_party"
    TIER_ABOVE_CEILING = "tier_above_ceiling"
    RISK_DOMAIN_OUTSIDE_TOPICS = "risk_domain_outside_topics"

    # Asking for and deciding a release.
    DOCUMENT_NOT_PUBLISHED = "document_not_published"
    ORCON = "orcon"
    NO_ONWARD_SHARING = "no_onward_sharing"
    NO_ONWARD_SHARING_AGREEMENT = "no_onward_sharing_agreement"
    REQUESTER_NOT_A_PARTY = "requester_not_a_party"
    JUSTIFICATION_REQUIRED = "justification_required"
    EXPIRES_BEFORE_START = "expires_before_start"
    EXPIRES_AFTER_AGREEMENT = "expires_after_agreement"
    NO_RECIPIENT = "no_recipient"
    RECIPIENT_HOLDS_DOCUMENT = "recipient_holds_document"
    RECIPIENT_INACTIVE = "recipient_inactive"
    ORGANISATION_NOT_A_PARTY_TO_AGREEMENT = "organisation_not_a_party_to_agreement"
    COUNTRY_NOT_RELEASABLE = "country_not_releasable"
    AUDIENCE_NOT_RECIPIENT_MEMBERS = "audience_not_recipient_members"
    AUDIENCE_MISSES_RECIPIENT = "audience_misses_recipient"
    ALREADY_REQUESTED = "already_requested"
    RELEASE_NOT_AWAITING_DECISION = "release_not_awaiting_decision"
    REQUESTER_DECIDES = "requester_decides"
    REFUSAL_REASON_REQUIRED = "refusal_reason_required"
    RELEASE_EXPIRY_PASSED = "release_expiry_passed"
    RELEASE_DECIDED_MEANWHILE = "release_decided_meanwhile"
    RELEASE_NOT_APPROVED = "release_not_approved"
    RELEASE_NOT_SUSPENDED = "release_not_suspended"
    REVOCATION_REASON_REQUIRED = "revocation_reason_required"
    NO_SUCH_RELEASE = "no_such_release"
    NO_UPDATE_PENDING = "no_update_pending"
    UPDATE_CHANGED_SINCE_SHOWN = "update_changed_since_shown"
    AUTHOR_DECIDES_UPDATE = "author_decides_update"
    DECLINE_REASON_REQUIRED = "decline_reason_required"
    NO_SUCH_MARKING_CHANGE = "no_such_marking_change"
    MARKING_CHANGE_NOT_PENDING = "marking_change_not_pending"
    PROPOSER_DECIDES = "proposer_decides"
    MARKING_CHANGED_SINCE_PROPOSED = "marking_changed_since_proposed"
    RELEASE_NOT_FOUND_OR_NOT_THEIRS = "release_not_found_or_not_theirs"

    # Agreements.
    NO_SUCH_AGREEMENT = "no_such_agreement"
    NOT_A_PARTY = "not_a_party"
    NOT_A_PARTY_TO_AGREEMENT = "not_a_party_to_agreement"
    TOO_FEW_PARTIES = "too_few_parties"
    NO_RISK_DOMAIN = "no_risk_domain"
    ORGANISATION_NOT_A_PARTY = "organisation_not_a_party"
    AGREEMENT_NOT_DRAFT = "agreement_not_draft"
    ALREADY_SIGNED = "already_signed"
    AGREEMENT_IS_PAST_EXPIRY = "agreement_is_past_expiry"
    AGREEMENT_STATUS_FORBIDS = "agreement_status_forbids"
    NO_MOU = "no_mou"

    # Writing documents.
    NO_TIER = "no_tier"
    MARKING_ABOVE_CLEARANCE = "marking_above_clearance"
    COMPARTMENT_NOT_READ_IN = "compartment_not_read_in"
    INVALID = "invalid"
    DOCUMENT_STATUS_FORBIDS = "document_status_forbids"
    WITHDRAWN = "withdrawn"
    STALE_REVISION = "stale_revision"
    STALE_STATUS = "stale_status"

    # Attachments and files.
    NO_SUCH_ATTACHMENT = "no_such_attachment"
    NOT_A_DOCUMENT_ATTACHMENT = "not_a_document_attachment"
    ATTACHMENT_DESTROYED = "attachment_destroyed"
    ATTACHMENT_NOT_CLEAN = "attachment_not_clean"
    ATTACHMENT_NOT_RELEASED = "attachment_not_released"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    KEYS_UNAVAILABLE = "keys_unavailable"
    TOO_LARGE = "too_large"
    NO_FILE = "no_file"
    MULTIPART_BODY = "multipart_body"
    NO_FILENAME = "no_filename"
    NO_CONTENT_LENGTH = "no_content_length"
    EMPTY_FILE = "empty_file"

    # People, clearances, read-ins and roles (codes kept from before this module).
    NOT_ADMIN = "not_admin"
    OTHER_ORGANISATION = "other_organisation"
    SELF = "self"
    ABOVE_OWN_CLEARANCE = "above_own_clearance"
    INACTIVE = "inactive"
    ALREADY_DEACTIVATED = "already_deactivated"
    PAST = "past"
    NOT_RENEWABLE = "not_renewable"
    NOT_LATER = "not_later"
    NO_PERSON = "no_person"
    OWN_GRANT = "own_grant"
    NOT_PENDING = "not_pending"
    GRANT_EXPIRED = "expired"
    GRANT_ALREADY_REVOKED = "already_revoked"
    READIN_ALREADY_REVOKED = "readin_already_revoked"
    NOT_READ_IN_YOURSELF = "not_read_in"
    ALREADY_READ_IN = "already_read_in"
    NOT_COMPARTMENT_OWNER = "not_compartment_owner"
    NO_SUCH_COMPARTMENT = "no_such_compartment"
    NOMINATION_NOT_PENDING = "nomination_not_pending"
    OWN_COMPARTMENT = "own_compartment"
    ALREADY_NOMINATED = "already_nominated"
    UNKNOWN_ROLE = "unknown_role"
    MEMBER_WITHOUT_ORGANISATION = "no_organisation"
    ROLE_HELD = "role_held"
    ROLE_NOT_HELD = "missing"
    CANNOT_CREATE_ACCOUNT = "forbidden"
    EMAIL_TAKEN = "email_taken"
    ONLY_PORTAL_ADMINS_CREATE_ORGANISATIONS = "only_portal_admins_create_organisations"

    # API tokens. (Codes, not secrets: hence the noqa.)
    NOT_THEIR_OWN = "not_their_own"
    NOT_THEIR_TOKEN = "not_their_token"  # noqa: S105  # nosec B105
    NO_SUCH_TOKEN_OF_THEIRS = "no_such_token_of_theirs"  # noqa: S105  # nosec B105
    NO_SUCH_TOKEN_OF_THEIR_MEMBERS = "no_such_token_of_their_members"  # noqa: S105  # nosec B105
    TOKEN_INVALID = "token_invalid"  # noqa: S105  # nosec B105
    TOKEN_REVOKED = "token_revoked"  # noqa: S105  # nosec B105
    TOKEN_EXPIRED = "token_expired"  # noqa: S105  # nosec B105
    USER_INACTIVE = "user_inactive"
    TOKEN_SCOPE = "token_scope"  # noqa: S105  # nosec B105

    # Evaluation results.
    NO_SUCH_EVAL_RUN = "no_such_eval_run"
    NO_READABLE_RUN_OF_TASK = "no_readable_run_of_task"

    # Joint testing exercises (exercises.policy and exercises.services).
    NO_SUCH_EXERCISE = "no_such_exercise"
    NOT_AN_EXERCISE_PARTICIPANT = "not_an_exercise_participant"
    NOT_THE_EXERCISE_LEAD = "not_the_exercise_lead"
    AGREEMENT_NOT_IN_FORCE = "agreement_not_in_force"
    EXERCISE_NEEDS_A_PARTNER = "exercise_needs_a_partner"
    EXERCISE_REFERENCE_TAKEN = "exercise_reference_taken"
    EXERCISE_PHASE_FORBIDS = "exercise_phase_forbids"
    EXERCISE_PHASE_NOT_NEXT = "exercise_phase_not_next"
    NO_ADOPTED_PROTOCOL = "no_adopted_protocol"
    NO_SUCH_PROTOCOL_VERSION = "no_such_protocol_version"
    PROTOCOL_VERSION_NOT_CURRENT = "protocol_version_not_current"
    PROTOCOL_VERSION_CHANGED = "protocol_version_changed"
    PROTOCOL_UNCHANGED = "protocol_unchanged"
    COMPARTMENT_CODE_TAKEN = "compartment_code_taken"
    # Personnel exchanges (secondments) and what a secondee may do.
    SECONDEE_PARTNER_MATERIAL = "secondee_partner_material"
    SECONDEE_CARRIES_ACROSS = "secondee_carries_across"
    NO_SUCH_SECONDMENT = "no_such_secondment"
    NOT_AN_ADMIN_OF_EITHER_SIDE = "not_an_admin_of_either_side"
    SECONDMENT_SAME_ORGANISATION = "secondment_same_organisation"
    SECONDEE_NOT_OF_HOME = "secondee_not_of_home"
    AGREEMENT_NO_EXCHANGES = "agreement_no_exchanges"
    SECONDMENT_NOT_PARTIES = "secondment_not_parties"
    SECONDMENT_AFTER_AGREEMENT = "secondment_after_agreement"
    SECONDMENT_ENDS_BEFORE_START = "secondment_ends_before_start"
    SECONDMENT_OVERLAPS = "secondment_overlaps"
    SECONDMENT_NOT_PROPOSED = "secondment_not_proposed"
    SIDE_ALREADY_APPROVED = "side_already_approved"
    SECONDMENT_OVER = "secondment_over"
    EXTENSION_NOT_LATER = "extension_not_later"
    NO_EXTENSION_PENDING = "no_extension_pending"
    NOT_ON_SECONDMENT = "not_on_secondment"

    def sentence(self, **params: Any) -> str:
        """What a person reads for this code; `params` fill the values the sentence names."""
        return SENTENCES[self].format(**params)

    def because(self, **params: Any) -> Refusal:
        """This code with the values its sentence names."""
        return Refusal(self, MappingProxyType(dict(params)))


SENTENCES: dict[Reason, str] = {
    Reason.ALLOWED: "allowed",
    Reason.NOT_SIGNED_IN: "not signed in",
    Reason.ACCOUNT_INACTIVE: "account inactive",
    Reason.NOT_MFA_VERIFIED: "session not MFA-verified",
    Reason.SECURITY_KEY_NEEDED: "this role acts only in a session verified with a security key or passkey",
    Reason.STEP_UP_NEEDED: "this action needs a security key verification within the last 5 minutes",
    Reason.TOKEN_DECIDE_SCOPE: (
        "this action needs an API token with the 'decide' scope, made right after a security key verification"
    ),
    Reason.NO_ORGANISATION: "no organisation",
    Reason.ORGANISATION_INACTIVE: "organisation inactive",
    Reason.NO_ACTIVE_ORGANISATION: "no active organisation",
    Reason.NOT_AN_AUTHOR: "not an author",
    Reason.NOT_THE_ORIGINATOR: "not the originator",
    Reason.NOT_OF_ORIGINATING_ORGANISATION: "not of the originating organisation",
    Reason.NOT_A_RELEASE_OFFICER: "not a release officer",
    Reason.NOT_A_RELEASE_OFFICER_OF_ORIGINATOR: "not a release officer of the originator",
    Reason.NOT_A_PORTAL_ADMIN: "not a portal admin",
    Reason.ONLY_PORTAL_ADMIN: "only a portal admin may do this",
    Reason.NOT_A_SIGNATORY: "not a signatory",
    Reason.NOT_A_SIGNATORY_OF: "not a signatory of {organisation}",
    Reason.NOT_AN_ORGANISATION_ADMIN: "not an organisation admin",
    Reason.NO_SUCH_DOCUMENT: "no such document",
    Reason.DOCUMENT_DRAFT: "document draft",
    Reason.DOCUMENT_WITHDRAWN: "document withdrawn",
    Reason.NOT_RELEASED_TO_ORGANISATION: "no release to the organisation",
    Reason.CLEARANCE_BELOW_TIER: "clearance below tier",
    Reason.NATIONALITY_NOT_RELEASABLE: "nationality not releasable",
    Reason.NOT_READ_IN_TO: "not read in to {compartments}",
    Reason.NO_VIEW_GRANT: "no view_document grant",
    Reason.RELEASE_REQUESTED: "release requested",
    Reason.RELEASE_REFUSED: "release refused",
    Reason.RELEASE_REVOKED: "release revoked",
    Reason.RELEASE_SUSPENDED: "release suspended: out of scope",
    Reason.RELEASE_EXPIRED: "release expired",
    Reason.RELEASE_PAST_EXPIRY: "release past its expiry date",
    Reason.NOT_IN_AUDIENCE: "not in the release's audience",
    Reason.RECIPIENT_NOT_A_PARTY: "recipient not a party to the agreement",
    Reason.AGREEMENT_DRAFT: "agreement draft",
    Reason.AGREEMENT_SUSPENDED: "agreement suspended",
    Reason.AGREEMENT_TERMINATED: "agreement terminated",
    Reason.AGREEMENT_EXPIRED: "agreement expired",
    Reason.AGREEMENT_NOT_YET_IN_EFFECT: "agreement not yet in effect",
    Reason.AGREEMENT_PAST_EXPIRY: "agreement past its expiry date",
    Reason.ORIGINATOR_NOT_A_PARTY: "originator not a party to the agreement",
    Reason.TIER_ABOVE_CEILING: "tier above the agreement's ceiling",
    Reason.RISK_DOMAIN_OUTSIDE_TOPICS: "risk domain outside the agreement's topics",
    Reason.DOCUMENT_NOT_PUBLISHED: "document not published",
    Reason.ORCON: "ORCON: only the originator may release it",
    Reason.NO_ONWARD_SHARING: "agreement does not allow onward sharing",
    Reason.NO_ONWARD_SHARING_AGREEMENT: "no agreement allowing onward sharing",
    Reason.REQUESTER_NOT_A_PARTY: "requester's organisation not a party to the agreement",
    Reason.JUSTIFICATION_REQUIRED: "a justification is required",
    Reason.EXPIRES_BEFORE_START: "the release would expire before it starts",
    Reason.EXPIRES_AFTER_AGREEMENT: "the release must expire before its agreement does ({agreement_expires} UTC)",
    Reason.NO_RECIPIENT: "no recipient organisation",
    Reason.RECIPIENT_HOLDS_DOCUMENT: "{organisation} already holds the document",
    Reason.RECIPIENT_INACTIVE: "{organisation} is not active",
    Reason.ORGANISATION_NOT_A_PARTY_TO_AGREEMENT: "{organisation} is not a party to the agreement",
    Reason.COUNTRY_NOT_RELEASABLE: "{country} is not in the document's releasable-to list",
    Reason.AUDIENCE_NOT_RECIPIENT_MEMBERS: "every named reader must be an active member of a recipient",
    Reason.AUDIENCE_MISSES_RECIPIENT: "a narrowed release must name readers in every recipient",
    Reason.ALREADY_REQUESTED: "already requested or released to that organisation under this agreement",
    Reason.RELEASE_NOT_AWAITING_DECISION: "release {status}, not awaiting a decision",
    Reason.REQUESTER_DECIDES: "the requester cannot decide their own request",
    Reason.NO_UPDATE_PENDING: "no update of this release is pending",
    Reason.UPDATE_CHANGED_SINCE_SHOWN: "the document changed since the difference was shown (now revision {latest})",
    Reason.AUTHOR_DECIDES_UPDATE: "an author of the update cannot approve or decline it",
    Reason.DECLINE_REASON_REQUIRED: "a reason is required to decline an update",
    Reason.NO_SUCH_MARKING_CHANGE: "no such marking change",
    Reason.MARKING_CHANGE_NOT_PENDING: "marking change {status}, not pending",
    Reason.PROPOSER_DECIDES: "the person who proposed a lower marking cannot decide it",
    Reason.MARKING_CHANGED_SINCE_PROPOSED: "the marking changed since the lower marking was proposed",
    Reason.REFUSAL_REASON_REQUIRED: "a reason is required to refuse",
    Reason.RELEASE_EXPIRY_PASSED: "the release's expiry date has passed",
    Reason.RELEASE_DECIDED_MEANWHILE: "release was decided meanwhile",
    Reason.RELEASE_NOT_APPROVED: "release {status}, not approved",
    Reason.RELEASE_NOT_SUSPENDED: "release {status}, not suspended",
    Reason.REVOCATION_REASON_REQUIRED: "a reason is required to revoke",
    Reason.NO_SUCH_RELEASE: "no such release or not visible",
    Reason.RELEASE_NOT_FOUND_OR_NOT_THEIRS: "not found or not theirs",
    Reason.NO_SUCH_AGREEMENT: "no such agreement",
    Reason.NOT_A_PARTY: "not a party",
    Reason.NOT_A_PARTY_TO_AGREEMENT: "not a party to the agreement",
    Reason.TOO_FEW_PARTIES: "an agreement needs two or more organisations",
    Reason.NO_RISK_DOMAIN: "an agreement must permit at least one risk domain",
    Reason.ORGANISATION_NOT_A_PARTY: "{organisation} is not a party",
    Reason.AGREEMENT_NOT_DRAFT: "agreement is {status}, not a draft",
    Reason.ALREADY_SIGNED: "{organisation} has already signed",
    Reason.AGREEMENT_IS_PAST_EXPIRY: "agreement is past its expiry date",
    Reason.AGREEMENT_STATUS_FORBIDS: "agreement is {status}",
    Reason.NO_MOU: "agreement has no MoU",
    Reason.NO_TIER: "no tier",
    Reason.MARKING_ABOVE_CLEARANCE: "marking above clearance",
    Reason.COMPARTMENT_NOT_READ_IN: "compartment not read in",
    Reason.INVALID: "invalid",
    Reason.DOCUMENT_STATUS_FORBIDS: "status {status}",
    Reason.WITHDRAWN: "withdrawn",
    Reason.STALE_REVISION: "stale revision",
    Reason.STALE_STATUS: "stale status",
    Reason.NO_SUCH_ATTACHMENT: "no such attachment",
    Reason.NOT_A_DOCUMENT_ATTACHMENT: "not a document attachment",
    Reason.ATTACHMENT_DESTROYED: "attachment destroyed",
    Reason.ATTACHMENT_NOT_CLEAN: "attachment not clean",
    Reason.ATTACHMENT_NOT_RELEASED: "attachment not in the released revision",
    Reason.STORAGE_UNAVAILABLE: "storage unavailable",
    Reason.KEYS_UNAVAILABLE: "key token unavailable",
    Reason.TOO_LARGE: "too large",
    Reason.NO_FILE: "no file",
    Reason.MULTIPART_BODY: "multipart body",
    Reason.NO_FILENAME: "no filename",
    Reason.NO_CONTENT_LENGTH: "no content length",
    Reason.EMPTY_FILE: "empty file",
    Reason.NOT_ADMIN: "You are not an organisation admin.",
    Reason.OTHER_ORGANISATION: "You can manage only members of your own organisation.",
    Reason.SELF: "You cannot change your own access.",
    Reason.ABOVE_OWN_CLEARANCE: "You can grant clearance only up to your own ({own}).",
    Reason.INACTIVE: "This account is deactivated.",
    Reason.ALREADY_DEACTIVATED: "This account is already deactivated.",
    Reason.PAST: "The end date must be in the future.",
    Reason.NOT_RENEWABLE: "Only an approved, unrevoked grant can be renewed.",
    Reason.NOT_LATER: "The renewal must end after the current grant.",
    Reason.NO_PERSON: "Only a person can approve a grant.",
    Reason.OWN_GRANT: "A second admin must approve a grant you made.",
    Reason.NOT_PENDING: "This grant is not awaiting approval.",
    Reason.GRANT_EXPIRED: "This grant has already expired.",
    Reason.GRANT_ALREADY_REVOKED: "This grant is already revoked.",
    Reason.READIN_ALREADY_REVOKED: "This read-in is already revoked.",
    Reason.NOT_READ_IN_YOURSELF: "You can read people in only to compartments you are read in to yourself.",
    Reason.ALREADY_READ_IN: "Already read in to this compartment.",
    Reason.NOT_COMPARTMENT_OWNER: "Only the admins of the organisation that owns a compartment read people in to it.",
    Reason.NO_SUCH_COMPARTMENT: "no such compartment",
    Reason.NOMINATION_NOT_PENDING: "This nomination is not awaiting a decision.",
    Reason.OWN_COMPARTMENT: "Your organisation owns this compartment: read them in directly.",
    Reason.ALREADY_NOMINATED: "Already nominated for this compartment.",
    Reason.UNKNOWN_ROLE: "Choose a role.",
    Reason.MEMBER_WITHOUT_ORGANISATION: "This person belongs to no organisation.",
    Reason.ROLE_HELD: "They already have this role.",
    Reason.ROLE_NOT_HELD: "They do not have this role.",
    Reason.CANNOT_CREATE_ACCOUNT: "You cannot create this account.",
    Reason.EMAIL_TAKEN: "An account with this email address exists.",
    Reason.ONLY_PORTAL_ADMINS_CREATE_ORGANISATIONS: "Only portal admins create organisations.",
    Reason.NOT_THEIR_OWN: "People make API tokens for themselves only.",
    Reason.NOT_THEIR_TOKEN: "Not your token.",
    Reason.NO_SUCH_TOKEN_OF_THEIRS: "no such token of theirs",
    Reason.NO_SUCH_TOKEN_OF_THEIR_MEMBERS: "no such token of their organisation's members",
    Reason.TOKEN_INVALID: "The API token is not valid.",
    Reason.TOKEN_REVOKED: "The API token has been revoked.",
    Reason.TOKEN_EXPIRED: "The API token has expired.",
    Reason.USER_INACTIVE: "The account this API token belongs to is inactive.",
    Reason.TOKEN_SCOPE: "token scope",
    Reason.NO_SUCH_EVAL_RUN: "no such eval run or not readable",
    Reason.NO_READABLE_RUN_OF_TASK: "no readable run of this task",
    Reason.NO_SUCH_EXERCISE: "no such exercise",
    Reason.NOT_AN_EXERCISE_PARTICIPANT: "{organisation} does not take part in the exercise",
    Reason.NOT_THE_EXERCISE_LEAD: "only the lead organisation's people may do this",
    Reason.AGREEMENT_NOT_IN_FORCE: "the agreement is not in force now",
    Reason.EXERCISE_NEEDS_A_PARTNER: "an exercise needs the lead and at least one other participant",
    Reason.EXERCISE_REFERENCE_TAKEN: "an exercise with this reference exists",
    Reason.EXERCISE_PHASE_FORBIDS: "the exercise is in its {phase} phase",
    Reason.EXERCISE_PHASE_NOT_NEXT: "the exercise moves from {phase} only to {next}",
    Reason.NO_ADOPTED_PROTOCOL: "the exercise has no adopted protocol",
    Reason.NO_SUCH_PROTOCOL_VERSION: "no such protocol version",
    Reason.PROTOCOL_VERSION_NOT_CURRENT: "version {number} is not the version awaiting signatures",
    Reason.PROTOCOL_VERSION_CHANGED: "the version changed since it was shown: read it again before signing",
    Reason.PROTOCOL_UNCHANGED: "the protocol is unchanged",
    Reason.COMPARTMENT_CODE_TAKEN: "a compartment with this code exists",
    Reason.SECONDEE_PARTNER_MATERIAL: "the agreement does not let seconded staff read partner material",
    Reason.SECONDEE_CARRIES_ACROSS: "a secondee may not release to {organisation} while seconded between the two",
    Reason.NO_SUCH_SECONDMENT: "no such secondment",
    Reason.NOT_AN_ADMIN_OF_EITHER_SIDE: "only an admin of the home or the host organisation may do this",
    Reason.SECONDMENT_SAME_ORGANISATION: "the home and the host must be different organisations",
    Reason.SECONDEE_NOT_OF_HOME: "the person is not a member of the home organisation",
    Reason.AGREEMENT_NO_EXCHANGES: "the agreement does not allow personnel exchanges",
    Reason.SECONDMENT_NOT_PARTIES: "the home and the host must both be parties to the agreement",
    Reason.SECONDMENT_AFTER_AGREEMENT: "the secondment must end before the agreement expires",
    Reason.SECONDMENT_ENDS_BEFORE_START: "the secondment must end after it starts, and in the future",
    Reason.SECONDMENT_OVERLAPS: "the person is already seconded over these dates",
    Reason.SECONDMENT_NOT_PROPOSED: "this secondment is not awaiting approval",
    Reason.SIDE_ALREADY_APPROVED: "{organisation} has already approved",
    Reason.SECONDMENT_OVER: "this secondment has ended",
    Reason.EXTENSION_NOT_LATER: "an extension must end after the current end",
    Reason.NO_EXTENSION_PENDING: "no extension is awaiting approval",
    Reason.NOT_ON_SECONDMENT: "no active secondment lets you act for this organisation now",
}


@dataclass(frozen=True)
class Refusal:
    """A code and the values its sentence names: what a refusal records and what it says."""

    reason: Reason
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), compare=False, hash=False)

    @property
    def sentence(self) -> str:
        return self.reason.sentence(**self.params)

    def details(self) -> dict[str, Any]:
        """What the audit event stores: the code under "reason", the values beside it."""
        return {"reason": self.reason.value, **self.params}


def refusal(reason: Reason | Refusal) -> Refusal:
    return reason if isinstance(reason, Refusal) else Refusal(reason)


def sentence_of(details: Mapping[str, Any] | None) -> str:
    """The sentence of a stored event's reason, for display; "" when it has none.

    A code is turned into its sentence with the values stored beside it. Anything else is an
    event from before the codes (or a person's own words, such as a release officer's reason),
    shown as stored.
    """
    stored = (details or {}).get("reason")
    if not isinstance(stored, str):
        return ""
    try:
        code = Reason(stored)
    except ValueError:
        return stored
    try:
        return SENTENCES[code].format_map(details)
    except (KeyError, IndexError, ValueError):
        return SENTENCES[code]
