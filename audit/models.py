"""The audit trail: one append-only hash chain of every security-relevant event."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Action(models.TextChoices):
    """What happened, grouped by the part of the system it concerns (`group.verb`)."""

    # Authentication
    AUTH_LOGIN = "auth.login", "Signed in"
    AUTH_LOGOUT = "auth.logout", "Signed out"
    AUTH_LOGIN_FAILED = "auth.login_failed", "Sign-in failed"
    AUTH_LOCKOUT = "auth.lockout", "Locked out"
    AUTH_MFA_VERIFIED = "auth.mfa_verified", "MFA verified"
    AUTH_MFA_FAILED = "auth.mfa_failed", "MFA code refused"
    AUTH_MFA_ENROLLED = "auth.mfa_enrolled", "MFA enrolled"
    AUTH_MFA_RESET = "auth.mfa_reset", "MFA reset"
    AUTH_KEY_ENROLLED = "auth.key_enrolled", "Security key enrolled"
    AUTH_KEY_RENAMED = "auth.key_renamed", "Security key renamed"
    AUTH_KEY_REMOVED = "auth.key_removed", "Security key removed"
    AUTH_STEP_UP_NEEDED = "auth.step_up_needed", "Security key verification asked for"
    AUTH_SESSION_ENDED = "auth.session_ended", "Session ended"
    AUTH_PASSWORD_CHANGED = "auth.password_changed", "Password changed"
    AUTH_PASSWORD_RESET_REQUESTED = "auth.password_reset_requested", "Password reset requested"
    AUTH_SESSION_EXPIRED = "auth.session_expired", "Session expired"
    # People and organisations
    ORG_CREATED = "org.created", "Organisation created"
    ORG_UPDATED = "org.updated", "Organisation updated"
    USER_CREATED = "user.created", "User created"
    USER_UPDATED = "user.updated", "User updated"
    USER_DEACTIVATED = "user.deactivated", "User deactivated"
    ROLE_GRANTED = "role.granted", "Role granted"
    ROLE_REVOKED = "role.revoked", "Role revoked"
    CLEARANCE_GRANTED = "clearance.granted", "Clearance granted"
    CLEARANCE_REQUESTED = "clearance.requested", "Clearance awaiting second approval"
    CLEARANCE_APPROVED = "clearance.approved", "Clearance approved"
    CLEARANCE_REFUSED = "clearance.refused", "Clearance refused"
    CLEARANCE_RENEWED = "clearance.renewed", "Clearance renewed"
    CLEARANCE_REVOKED = "clearance.revoked", "Clearance revoked"
    READIN_GRANTED = "readin.granted", "Read in to compartment"
    READIN_REVOKED = "readin.revoked", "Read-in revoked"
    READIN_NOMINATED = "readin.nominated", "Nominated for a read-in"
    READIN_NOMINATION_APPROVED = "readin.nomination_approved", "Read-in nomination approved"
    READIN_NOMINATION_DECLINED = "readin.nomination_declined", "Read-in nomination declined"
    COMPARTMENT_CREATED = "compartment.created", "Compartment created"
    # Documents and attachments
    DOCUMENT_CREATED = "document.created", "Document created"
    DOCUMENT_UPDATED = "document.updated", "Document updated"
    DOCUMENT_PUBLISHED = "document.published", "Document published"
    DOCUMENT_WITHDRAWN = "document.withdrawn", "Document withdrawn"
    DOCUMENT_VIEWED = "document.viewed", "Document read"
    DOCUMENT_LISTED = "document.listed", "Documents listed"
    ATTACHMENT_UPLOADED = "attachment.uploaded", "Attachment uploaded"
    ATTACHMENT_REJECTED = "attachment.rejected", "Attachment rejected"
    ATTACHMENT_SCANNED = "attachment.scanned", "Attachment scanned"
    ATTACHMENT_DOWNLOADED = "attachment.downloaded", "Attachment downloaded"
    ATTACHMENT_DESTROYED = "attachment.destroyed", "Attachment destroyed"
    ATTACHMENT_INTEGRITY_FAILED = "attachment.integrity_failed", "Attachment failed authentication"
    EVAL_LOG_PARSED = "evallog.parsed", "Eval log read"
    EVAL_LOG_REJECTED = "evallog.rejected", "Eval log could not be read"
    KEY_ROTATED = "key.rotated", "Key rotated"
    KEY_REWRAPPED = "key.rewrapped", "Data keys re-wrapped"
    MASTER_KEY_CREATED = "key.master_created", "Master key created in the token"
    MASTER_KEY_REWRAPPED = "key.master_rewrapped", "Organisation keys re-wrapped under another master key"
    MASTER_KEY_DESTROYED = "key.master_destroyed", "Retired master key destroyed in the token"
    # Agreements and releases
    AGREEMENT_CREATED = "agreement.created", "Agreement drafted"
    AGREEMENT_SIGNED = "agreement.signed", "Agreement signed"
    AGREEMENT_ACTIVATED = "agreement.activated", "Agreement active"
    AGREEMENT_SUSPENDED = "agreement.suspended", "Agreement suspended"
    AGREEMENT_RESUMED = "agreement.resumed", "Agreement resumed"
    AGREEMENT_TERMINATED = "agreement.terminated", "Agreement terminated"
    AGREEMENT_EXPIRED = "agreement.expired", "Agreement expired"
    AGREEMENT_EXPIRY_NOTICE = "agreement.expiry_notice", "Agreement owners warned of expiry"
    RELEASE_REQUESTED = "release.requested", "Release requested"
    RELEASE_APPROVED = "release.approved", "Release approved"
    RELEASE_REFUSED = "release.refused", "Release refused"
    RELEASE_REVOKED = "release.revoked", "Release revoked"
    RELEASE_EXPIRED = "release.expired", "Release expired"
    RELEASE_SUSPENDED = "release.suspended", "Release suspended: out of scope"
    RELEASE_REINSTATED = "release.reinstated", "Release reinstated"
    RELEASE_UPDATE_APPROVED = "release.update_approved", "Release update approved"
    RELEASE_UPDATE_DECLINED = "release.update_declined", "Release update declined"
    MARKING_LOWER_PROPOSED = "marking.lower_proposed", "Lower marking proposed"
    MARKING_LOWER_APPROVED = "marking.lower_approved", "Lower marking approved"
    MARKING_LOWER_REFUSED = "marking.lower_refused", "Lower marking refused"
    # Joint testing exercises and their protocols
    EXERCISE_CREATED = "exercise.created", "Exercise created"
    EXERCISE_PHASE_CHANGED = "exercise.phase_changed", "Exercise moved to another phase"
    EXERCISE_VIEWED = "exercise.viewed", "Exercise read"
    EXERCISE_LISTED = "exercise.listed", "Exercises listed"
    PROTOCOL_DRAFTED = "protocol.drafted", "Protocol version drafted"
    PROTOCOL_SIGNED = "protocol.signed", "Protocol version signed"
    PROTOCOL_ADOPTED = "protocol.adopted", "Protocol version adopted"
    PROTOCOL_EXPORTED = "protocol.exported", "Protocol version exported"
    EXERCISE_RUN_CREATED = "exercise.run_created", "Exercise run started"
    # Personnel exchanges
    SECONDMENT_PROPOSED = "secondment.proposed", "Secondment proposed"
    SECONDMENT_APPROVED = "secondment.approved", "Secondment approved by one side"
    SECONDMENT_ENDED = "secondment.ended", "Secondment ended early"
    SECONDMENT_EXTENSION_PROPOSED = "secondment.extension_proposed", "Secondment extension proposed"
    SECONDMENT_EXTENSION_APPROVED = "secondment.extension_approved", "Secondment extension approved by one side"
    SECONDMENT_SWITCHED = "secondment.switched", "Secondee switched the organisation they act for"
    SECONDMENT_FELL_BACK = "secondment.fell_back", "Secondee returned to home: the secondment is no longer active"
    # Access decisions and the trail itself
    ACCESS_DENIED = "access.denied", "Access denied"
    GRANTS_TIDIED = "access.grants_tidied", "Stale document grants removed"
    VISIBILITY_REBUILT = "access.visibility_rebuilt", "Kept document visibility rebuilt"
    AUDIT_EXPORTED = "audit.exported", "Audit trail exported"
    AUDIT_VIEWED = "audit.viewed", "Audit trail viewed"
    AUDIT_CHECKPOINT = "audit.checkpoint", "Audit checkpoint signed"
    AUDIT_VERIFIED = "audit.verified", "Audit chain verified"
    # API
    API_TOKEN_CREATED = "api.token_created", "API token created"
    API_TOKEN_REVOKED = "api.token_revoked", "API token revoked"
    API_TOKEN_REFUSED = "api.token_refused", "API token refused"
    # Background work
    WORK_REQUEUED = "work.requeued", "Overdue background work queued again"


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"
    ERROR = "error", "Error"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs):
        raise PermissionError("audit events are append-only")

    def delete(self):
        raise PermissionError("audit events are append-only")


class AuditEvent(models.Model):
    """One event, and once sealed one link of the chain (audit/chain.py has the encodings).

    `seq` is the event's own number, given at insert; `position` its place in the chain, given
    by the sequencer when it seals the event (with `prev_hash`, `hash` and `sealed_at`). Until
    then the event is unsealed: stored, readable and covered by its `digest`, not yet linked.
    Version 1 and 2 events were linked as they were written: their position is their seq.
    """

    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(default=timezone.now)
    # Actor and organisation are kept as plain ids (no foreign key): the trail must outlive the
    # rows it talks about, and a cascading delete would be an UPDATE the trigger refuses.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=300, blank=True)
    organisation_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=60, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.ALLOWED)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    version = models.PositiveSmallIntegerField(default=1)
    # Version 3: SHA-256 of the content, computed at insert (chain.content_v3).
    digest = models.CharField(max_length=64, blank=True)
    # Set once, by the sequencer's sealing update (the only update the triggers allow).
    position = models.BigIntegerField(null=True, blank=True, unique=True)
    sealed_at = models.DateTimeField(null=True, blank=True)
    # Unique: two events claiming the same predecessor would be a fork, refused outright (as is
    # a second event at one position). The hash itself is never looked up: no index to keep.
    prev_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    hash = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 (null: not yet sealed)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["actor_id", "seq"], name="audit_actor_seq"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
            models.Index(fields=["at"], name="audit_at"),
            # What the sequencer reads, and /readyz's seal lag: small, since sealed rows leave it.
            models.Index(fields=["seq"], name="audit_unsealed", condition=models.Q(position__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.outcome}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit events are append-only")

    @property
    def sealed(self) -> bool:
        return self.position is not None


class AuditSubject(models.Model):
    """An index row: event `seq` named (`target_type`, `target_id`) besides its own target.

    A list, a search or a chart is one event naming what the page showed; its hashed `details`
    hold the names (`details["subjects"]`), and these rows index them, so an originator's access
    history finds every listing of a document by index, on SQLite and PostgreSQL alike. They are
    written in the event's own transaction, append-only like the event, and can be checked
    against the hashed details at any time (they add nothing the hash does not cover).
    """

    seq = models.BigIntegerField()
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["target_type", "target_id", "seq"], name="audit_subject_target")]

    def __str__(self) -> str:
        return f"#{self.seq} names {self.target_type} {self.target_id}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise PermissionError("audit subjects are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit subjects are append-only")


class ChainHead(models.Model):
    """The chain's last sealed position and hash. Only the sequencer locks it, for one batch."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"head #{self.seq}"


class AuditCheckpoint(models.Model):
    """A signed statement "the chain had this head at this sequence number".

    Partners keep exported copies: a later rewrite of history up to `seq` cannot reproduce
    `head_hash`, and a signature cannot be forged without the instance's private key.
    """

    seq = models.BigIntegerField(unique=True)
    head_hash = models.CharField(max_length=64)
    at = models.DateTimeField()
    key_id = models.CharField(max_length=32)
    signature = models.CharField(max_length=128, help_text="Ed25519 signature, base64")

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise PermissionError("audit checkpoints are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit checkpoints are append-only")


class VerificationRun(models.Model):
    """The outcome of one full verification of the chain, shown in the audit viewer."""

    class Status(models.TextChoices):
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices)
    events_checked = models.BigIntegerField(default=0)
    checkpoints_checked = models.PositiveIntegerField(default=0)
    head_seq = models.BigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, blank=True)
    first_bad_seq = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    trigger = models.CharField(max_length=20, default="command")
    # Where the run started (0: from the genesis) and the last signed checkpoint it vouched
    # for: the next incremental run starts there.
    from_seq = models.BigIntegerField(default=0)
    checkpoint_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-finished_at"]
        get_latest_by = "finished_at"

    def __str__(self) -> str:
        return f"verification {self.status} at {self.finished_at:%Y-%m-%d %H:%M}"
