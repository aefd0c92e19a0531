"""Refusal codes: each code's sentence is the words people saw before the codes, a refusal
records the code and raises, and events that stored the sentence itself still show and verify."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from audit.models import Action, AuditEvent, Outcome
from audit.reasons import SENTENCES, Reason, sentence_of
from audit.services import record, refuse
from audit.verify import verify_chain

# The words shown (in error messages, form errors, pages and the audit trail) before refusals
# had codes. A code may be renamed in code, never reworded by accident: change both or neither.
WORDS_SEEN = [
    (Reason.ALLOWED, {}, "allowed"),
    (Reason.NOT_SIGNED_IN, {}, "not signed in"),
    (Reason.ACCOUNT_INACTIVE, {}, "account inactive"),
    (Reason.NOT_MFA_VERIFIED, {}, "session not MFA-verified"),
    (
        Reason.SECURITY_KEY_NEEDED,
        {},
        "this role acts only in a session verified with a security key or passkey",
    ),
    (Reason.STEP_UP_NEEDED, {}, "this action needs a security key verification within the last 5 minutes"),
    (
        Reason.TOKEN_DECIDE_SCOPE,
        {},
        "this action needs an API token with the 'decide' scope, made right after a security key verification",
    ),
    (Reason.NO_ORGANISATION, {}, "no organisation"),
    (Reason.ORGANISATION_INACTIVE, {}, "organisation inactive"),
    (Reason.NO_ACTIVE_ORGANISATION, {}, "no active organisation"),
    (Reason.NOT_AN_AUTHOR, {}, "not an author"),
    (Reason.NOT_THE_ORIGINATOR, {}, "not the originator"),
    (Reason.NOT_OF_ORIGINATING_ORGANISATION, {}, "not of the originating organisation"),
    (Reason.NOT_A_RELEASE_OFFICER, {}, "not a release officer"),
    (Reason.NOT_A_RELEASE_OFFICER_OF_ORIGINATOR, {}, "not a release officer of the originator"),
    (Reason.NOT_A_PORTAL_ADMIN, {}, "not a portal admin"),
    (Reason.ONLY_PORTAL_ADMIN, {}, "only a portal admin may do this"),
    (Reason.NOT_A_SIGNATORY, {}, "not a signatory"),
    (Reason.NOT_A_SIGNATORY_OF, {"organisation": "UK AISI"}, "not a signatory of UK AISI"),
    (Reason.NOT_AN_ORGANISATION_ADMIN, {}, "not an organisation admin"),
    (Reason.NO_SUCH_DOCUMENT, {}, "no such document"),
    (Reason.DOCUMENT_DRAFT, {}, "document draft"),
    (Reason.DOCUMENT_WITHDRAWN, {}, "document withdrawn"),
    (Reason.NOT_RELEASED_TO_ORGANISATION, {}, "no release to the organisation"),
    (Reason.CLEARANCE_BELOW_TIER, {}, "clearance below tier"),
    (Reason.NATIONALITY_NOT_RELEASABLE, {}, "nationality not releasable"),
    (Reason.NOT_READ_IN_TO, {"compartments": "joint-ex-1"}, "not read in to joint-ex-1"),
    (Reason.NO_VIEW_GRANT, {}, "no view_document grant"),
    (Reason.RELEASE_REQUESTED, {}, "release requested"),
    (Reason.RELEASE_REFUSED, {}, "release refused"),
    (Reason.RELEASE_REVOKED, {}, "release revoked"),
    (Reason.RELEASE_EXPIRED, {}, "release expired"),
    (Reason.RELEASE_PAST_EXPIRY, {}, "release past its expiry date"),
    (Reason.NOT_IN_AUDIENCE, {}, "not in the release's audience"),
    (Reason.RECIPIENT_NOT_A_PARTY, {}, "recipient not a party to the agreement"),
    (Reason.AGREEMENT_DRAFT, {}, "agreement draft"),
    (Reason.AGREEMENT_SUSPENDED, {}, "agreement suspended"),
    (Reason.AGREEMENT_TERMINATED, {}, "agreement terminated"),
    (Reason.AGREEMENT_EXPIRED, {}, "agreement expired"),
    (Reason.AGREEMENT_NOT_YET_IN_EFFECT, {}, "agreement not yet in effect"),
    (Reason.AGREEMENT_PAST_EXPIRY, {}, "agreement past its expiry date"),
    (Reason.ORIGINATOR_NOT_A_PARTY, {}, "originator not a party to the agreement"),
    (Reason.TIER_ABOVE_CEILING, {}, "tier above the agreement's ceiling"),
    (Reason.RISK_DOMAIN_OUTSIDE_TOPICS, {}, "risk domain outside the agreement's topics"),
    (Reason.DOCUMENT_NOT_PUBLISHED, {}, "document not published"),
    (Reason.ORCON, {}, "ORCON: only the originator may release it"),
    (Reason.NO_ONWARD_SHARING, {}, "agreement does not allow onward sharing"),
    (Reason.NO_ONWARD_SHARING_AGREEMENT, {}, "no agreement allowing onward sharing"),
    (Reason.REQUESTER_NOT_A_PARTY, {}, "requester's organisation not a party to the agreement"),
    (Reason.JUSTIFICATION_REQUIRED, {}, "a justification is required"),
    (Reason.EXPIRES_BEFORE_START, {}, "the release would expire before it starts"),
    (
        Reason.EXPIRES_AFTER_AGREEMENT,
        {"agreement_expires": "2027-01-01 00:00"},
        "the release must expire before its agreement does (2027-01-01 00:00 UTC)",
    ),
    (Reason.NO_RECIPIENT, {}, "no recipient organisation"),
    (Reason.RECIPIENT_HOLDS_DOCUMENT, {"organisation": "UK AISI"}, "UK AISI already holds the document"),
    (Reason.RECIPIENT_INACTIVE, {"organisation": "UK AISI"}, "UK AISI is not active"),
    (
        Reason.ORGANISATION_NOT_A_PARTY_TO_AGREEMENT,
        {"organisation": "UK AISI"},
        "UK AISI is not a party to the agreement",
    ),
    (Reason.COUNTRY_NOT_RELEASABLE, {"country": "FRA"}, "FRA is not in the document's releasable-to list"),
    (Reason.AUDIENCE_NOT_RECIPIENT_MEMBERS, {}, "every named reader must be an active member of a recipient"),
    (Reason.AUDIENCE_MISSES_RECIPIENT, {}, "a narrowed release must name readers in every recipient"),
    (Reason.ALREADY_REQUESTED, {}, "already requested or released to that organisation under this agreement"),
    (Reason.RELEASE_NOT_AWAITING_DECISION, {"status": "suspended"}, "release suspended, not awaiting a decision"),
    (Reason.REQUESTER_DECIDES, {}, "the requester cannot decide their own request"),
    (Reason.NO_UPDATE_PENDING, {}, "no update of this release is pending"),
    (
        Reason.UPDATE_CHANGED_SINCE_SHOWN,
        {"latest": 4},
        "the document changed since the difference was shown (now revision 4)",
    ),
    (Reason.AUTHOR_DECIDES_UPDATE, {}, "an author of the update cannot approve or decline it"),
    (Reason.DECLINE_REASON_REQUIRED, {}, "a reason is required to decline an update"),
    (Reason.NO_SUCH_MARKING_CHANGE, {}, "no such marking change"),
    (Reason.MARKING_CHANGE_NOT_PENDING, {"status": "approved"}, "marking change approved, not pending"),
    (Reason.PROPOSER_DECIDES, {}, "the person who proposed a lower marking cannot decide it"),
    (Reason.MARKING_CHANGED_SINCE_PROPOSED, {}, "the marking changed since the lower marking was proposed"),
    (Reason.REFUSAL_REASON_REQUIRED, {}, "a reason is required to refuse"),
    (Reason.RELEASE_EXPIRY_PASSED, {}, "the release's expiry date has passed"),
    (Reason.RELEASE_DECIDED_MEANWHILE, {}, "release was decided meanwhile"),
    (Reason.RELEASE_NOT_APPROVED, {"status": "suspended"}, "release suspended, not approved"),
    (Reason.RELEASE_NOT_SUSPENDED, {"status": "approved"}, "release approved, not suspended"),
    (Reason.RELEASE_SUSPENDED, {}, "release suspended: out of scope"),
    (Reason.REVOCATION_REASON_REQUIRED, {}, "a reason is required to revoke"),
    (Reason.NO_SUCH_RELEASE, {}, "no such release or not visible"),
    (Reason.RELEASE_NOT_FOUND_OR_NOT_THEIRS, {}, "not found or not theirs"),
    (Reason.NO_SUCH_AGREEMENT, {}, "no such agreement"),
    (Reason.NOT_A_PARTY, {}, "not a party"),
    (Reason.NOT_A_PARTY_TO_AGREEMENT, {}, "not a party to the agreement"),
    (Reason.TOO_FEW_PARTIES, {}, "an agreement needs two or more organisations"),
    (Reason.NO_RISK_DOMAIN, {}, "an agreement must permit at least one risk domain"),
    (Reason.ORGANISATION_NOT_A_PARTY, {"organisation": "UK AISI"}, "UK AISI is not a party"),
    (Reason.AGREEMENT_NOT_DRAFT, {"status": "suspended"}, "agreement is suspended, not a draft"),
    (Reason.ALREADY_SIGNED, {"organisation": "UK AISI"}, "UK AISI has already signed"),
    (Reason.AGREEMENT_IS_PAST_EXPIRY, {}, "agreement is past its expiry date"),
    (Reason.AGREEMENT_STATUS_FORBIDS, {"status": "suspended"}, "agreement is suspended"),
    (Reason.NO_MOU, {}, "agreement has no MoU"),
    (Reason.NO_TIER, {}, "no tier"),
    (Reason.MARKING_ABOVE_CLEARANCE, {}, "marking above clearance"),
    (Reason.COMPARTMENT_NOT_READ_IN, {}, "compartment not read in"),
    (Reason.INVALID, {}, "invalid"),
    (Reason.DOCUMENT_STATUS_FORBIDS, {"status": "suspended"}, "status suspended"),
    (Reason.WITHDRAWN, {}, "withdrawn"),
    (Reason.STALE_REVISION, {}, "stale revision"),
    (Reason.STALE_STATUS, {}, "stale status"),
    (Reason.NO_SUCH_ATTACHMENT, {}, "no such attachment"),
    (Reason.NOT_A_DOCUMENT_ATTACHMENT, {}, "not a document attachment"),
    (Reason.ATTACHMENT_DESTROYED, {}, "attachment destroyed"),
    (Reason.ATTACHMENT_NOT_CLEAN, {}, "attachment not clean"),
    (Reason.ATTACHMENT_NOT_RELEASED, {}, "attachment not in the released revision"),
    (Reason.STORAGE_UNAVAILABLE, {}, "storage unavailable"),
    (Reason.KEYS_UNAVAILABLE, {}, "key token unavailable"),
    (Reason.TOO_LARGE, {}, "too large"),
    (Reason.NO_FILE, {}, "no file"),
    (Reason.MULTIPART_BODY, {}, "multipart body"),
    (Reason.NO_FILENAME, {}, "no filename"),
    (Reason.NO_CONTENT_LENGTH, {}, "no content length"),
    (Reason.EMPTY_FILE, {}, "empty file"),
    (Reason.NOT_ADMIN, {}, "You are not an organisation admin."),
    (Reason.OTHER_ORGANISATION, {}, "You can manage only members of your own organisation."),
    (Reason.SELF, {}, "You cannot change your own access."),
    (Reason.ABOVE_OWN_CLEARANCE, {"own": "OFFICIAL"}, "You can grant clearance only up to your own (OFFICIAL)."),
    (Reason.INACTIVE, {}, "This account is deactivated."),
    (Reason.ALREADY_DEACTIVATED, {}, "This account is already deactivated."),
    (Reason.PAST, {}, "The end date must be in the future."),
    (Reason.NOT_RENEWABLE, {}, "Only an approved, unrevoked grant can be renewed."),
    (Reason.NOT_LATER, {}, "The renewal must end after the current grant."),
    (Reason.NO_PERSON, {}, "Only a person can approve a grant."),
    (Reason.OWN_GRANT, {}, "A second admin must approve a grant you made."),
    (Reason.NOT_PENDING, {}, "This grant is not awaiting approval."),
    (Reason.GRANT_EXPIRED, {}, "This grant has already expired."),
    (Reason.GRANT_ALREADY_REVOKED, {}, "This grant is already revoked."),
    (Reason.READIN_ALREADY_REVOKED, {}, "This read-in is already revoked."),
    (Reason.NOT_READ_IN_YOURSELF, {}, "You can read people in only to compartments you are read in to yourself."),
    (Reason.ALREADY_READ_IN, {}, "Already read in to this compartment."),
    (
        Reason.NOT_COMPARTMENT_OWNER,
        {},
        "Only the admins of the organisation that owns a compartment read people in to it.",
    ),
    (Reason.NO_SUCH_COMPARTMENT, {}, "no such compartment"),
    (Reason.NOMINATION_NOT_PENDING, {}, "This nomination is not awaiting a decision."),
    (Reason.OWN_COMPARTMENT, {}, "Your organisation owns this compartment: read them in directly."),
    (Reason.ALREADY_NOMINATED, {}, "Already nominated for this compartment."),
    (Reason.UNKNOWN_ROLE, {}, "Choose a role."),
    (Reason.MEMBER_WITHOUT_ORGANISATION, {}, "This person belongs to no organisation."),
    (Reason.ROLE_HELD, {}, "They already have this role."),
    (Reason.ROLE_NOT_HELD, {}, "They do not have this role."),
    (Reason.CANNOT_CREATE_ACCOUNT, {}, "You cannot create this account."),
    (Reason.EMAIL_TAKEN, {}, "An account with this email address exists."),
    (Reason.ONLY_PORTAL_ADMINS_CREATE_ORGANISATIONS, {}, "Only portal admins create organisations."),
    (Reason.NOT_THEIR_OWN, {}, "People make API tokens for themselves only."),
    (Reason.NOT_THEIR_TOKEN, {}, "Not your token."),
    (Reason.NO_SUCH_TOKEN_OF_THEIRS, {}, "no such token of theirs"),
    (Reason.NO_SUCH_TOKEN_OF_THEIR_MEMBERS, {}, "no such token of their organisation's members"),
    (Reason.TOKEN_INVALID, {}, "The API token is not valid."),
    (Reason.TOKEN_REVOKED, {}, "The API token has been revoked."),
    (Reason.TOKEN_EXPIRED, {}, "The API token has expired."),
    (Reason.USER_INACTIVE, {}, "The account this API token belongs to is inactive."),
    (Reason.TOKEN_SCOPE, {}, "token scope"),
    (Reason.NO_SUCH_EVAL_RUN, {}, "no such eval run or not readable"),
    (Reason.NO_READABLE_RUN_OF_TASK, {}, "no readable run of this task"),
    (Reason.NO_SUCH_EXERCISE, {}, "no such exercise"),
    (Reason.NOT_AN_EXERCISE_PARTICIPANT, {"organisation": "CAAISI"}, "CAAISI does not take part in the exercise"),
    (Reason.NOT_THE_EXERCISE_LEAD, {}, "only the lead organisation's people may do this"),
    (Reason.AGREEMENT_NOT_IN_FORCE, {}, "the agreement is not in force now"),
    (Reason.EXERCISE_NEEDS_A_PARTNER, {}, "an exercise needs the lead and at least one other participant"),
    (Reason.EXERCISE_REFERENCE_TAKEN, {}, "an exercise with this reference exists"),
    (Reason.EXERCISE_PHASE_FORBIDS, {"phase": "closed"}, "the exercise is in its closed phase"),
    (
        Reason.EXERCISE_PHASE_NOT_NEXT,
        {"phase": "planning", "next": "running"},
        "the exercise moves from planning only to running",
    ),
    (Reason.NO_ADOPTED_PROTOCOL, {}, "the exercise has no adopted protocol"),
    (Reason.NO_SUCH_PROTOCOL_VERSION, {}, "no such protocol version"),
    (Reason.PROTOCOL_VERSION_NOT_CURRENT, {"number": 2}, "version 2 is not the version awaiting signatures"),
    (
        Reason.PROTOCOL_VERSION_CHANGED,
        {},
        "the version changed since it was shown: read it again before signing",
    ),
    (Reason.PROTOCOL_UNCHANGED, {}, "the protocol is unchanged"),
    (Reason.COMPARTMENT_CODE_TAKEN, {}, "a compartment with this code exists"),
    (Reason.SECONDEE_PARTNER_MATERIAL, {}, "the agreement does not let seconded staff read partner material"),
    (
        Reason.SECONDEE_CARRIES_ACROSS,
        {"organisation": "CAISI"},
        "a secondee may not release to CAISI while seconded between the two",
    ),
    (Reason.NO_SUCH_SECONDMENT, {}, "no such secondment"),
    (Reason.NOT_AN_ADMIN_OF_EITHER_SIDE, {}, "only an admin of the home or the host organisation may do this"),
    (Reason.SECONDMENT_SAME_ORGANISATION, {}, "the home and the host must be different organisations"),
    (Reason.SECONDEE_NOT_OF_HOME, {}, "the person is not a member of the home organisation"),
    (Reason.AGREEMENT_NO_EXCHANGES, {}, "the agreement does not allow personnel exchanges"),
    (Reason.SECONDMENT_NOT_PARTIES, {}, "the home and the host must both be parties to the agreement"),
    (Reason.SECONDMENT_AFTER_AGREEMENT, {}, "the secondment must end before the agreement expires"),
    (Reason.SECONDMENT_ENDS_BEFORE_START, {}, "the secondment must end after it starts, and in the future"),
    (Reason.SECONDMENT_OVERLAPS, {}, "the person is already seconded over these dates"),
    (Reason.SECONDMENT_NOT_PROPOSED, {}, "this secondment is not awaiting approval"),
    (Reason.SIDE_ALREADY_APPROVED, {"organisation": "UKASI"}, "UKASI has already approved"),
    (Reason.SECONDMENT_OVER, {}, "this secondment has ended"),
    (Reason.EXTENSION_NOT_LATER, {}, "an extension must end after the current end"),
    (Reason.NO_EXTENSION_PENDING, {}, "no extension is awaiting approval"),
    (Reason.NOT_ON_SECONDMENT, {}, "no active secondment lets you act for this organisation now"),
]


def test_every_code_has_a_sentence_and_is_checked_here():
    assert set(SENTENCES) == set(Reason)
    assert {reason for reason, _, _ in WORDS_SEEN} == set(Reason)


@pytest.mark.parametrize(("reason", "params", "words"), WORDS_SEEN, ids=[r.value for r, _, _ in WORDS_SEEN])
def test_sentence_is_what_people_saw_before(reason, params, words):
    assert reason.sentence(**params) == words
    assert reason.because(**params).sentence == words
    # From the stored event: the code and the values beside it.
    assert sentence_of({"reason": reason.value, **params}) == words


def test_codes_are_stable_strings():
    # Stored in the chain forever: a code is its value, compared as a plain string.
    assert Reason.CLEARANCE_BELOW_TIER == "clearance_below_tier"
    assert Reason("not_read_in_to") is Reason.NOT_READ_IN_TO
    assert len({r.value for r in Reason}) == len(Reason)


def test_sentence_of_shows_a_stored_sentence_as_stored():
    # Events from before the codes hold the sentence itself.
    assert sentence_of({"reason": "not read in to joint-ex-1", "wanted": "read"}) == "not read in to joint-ex-1"
    assert sentence_of({"reason": "agreement suspended"}) == "agreement suspended"
    assert sentence_of({}) == sentence_of(None) == ""


@pytest.mark.django_db
def test_refuse_records_the_code_and_raises_the_sentence(olivia):
    with pytest.raises(ValidationError) as caught:
        refuse(olivia, Action.RELEASE_REQUESTED, olivia, Reason.RECIPIENT_INACTIVE.because(organisation="CAISI"))
    assert caught.value.messages == ["CAISI is not active"]
    assert caught.value.code == "recipient_inactive"
    event = AuditEvent.objects.get(action=Action.RELEASE_REQUESTED)
    assert event.outcome == Outcome.DENIED
    assert event.details == {"reason": "recipient_inactive", "organisation": "CAISI"}
    assert sentence_of(event.details) == "CAISI is not active"


@pytest.mark.django_db
def test_refuse_raises_the_error_asked_for(olivia):
    with pytest.raises(PermissionDenied, match="^not a release officer$"):
        refuse(olivia, Action.ACCESS_DENIED, None, Reason.NOT_A_RELEASE_OFFICER, error=PermissionDenied)
    with pytest.raises(Http404, match="^No such document.$"):
        refuse(olivia, Action.ACCESS_DENIED, None, Reason.NO_SUCH_DOCUMENT, error=Http404("No such document."))
    with pytest.raises(ValidationError) as caught:
        refuse(olivia, Action.CLEARANCE_GRANTED, olivia, Reason.PAST, field="valid_until", details={"x": 1})
    assert caught.value.message_dict == {"valid_until": ["The end date must be in the future."]}
    details = [e.details for e in AuditEvent.objects.filter(outcome=Outcome.DENIED).order_by("seq")]
    assert details == [{"reason": "not_a_release_officer"}, {"reason": "no_such_document"}, {"reason": "past", "x": 1}]


@pytest.mark.django_db
def test_chain_with_stored_sentences_and_codes_verifies():
    """Old events keep the sentence they stored; new ones store the code; one chain holds both."""
    record(Action.ACCESS_DENIED, outcome=Outcome.DENIED, details={"reason": "clearance below tier", "wanted": "read"})
    record(Action.ACCESS_DENIED, outcome=Outcome.DENIED, details={"reason": "clearance_below_tier", "wanted": "read"})
    old, new = AuditEvent.objects.order_by("seq")
    assert sentence_of(old.details) == sentence_of(new.details) == "clearance below tier"
    assert verify_chain().ok
