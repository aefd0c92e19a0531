"""People, organisations and what they are cleared for."""

from __future__ import annotations

import uuid

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Group, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase


class Country(models.Model):
    """An ISO 3166-1 country, keyed by its alpha-3 code (GBR, USA, CAN)."""

    code = models.CharField(
        max_length=3,
        primary_key=True,
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use the ISO 3166-1 alpha-3 code in capitals.")],
    )
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "countries"

    def __str__(self) -> str:
        return self.code


class Organisation(models.Model):
    """A participating institute. Its roles are django-guardian permissions on this object (`roles.py`)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    short_name = models.SlugField(max_length=30, unique=True)
    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="organisations")
    is_active = models.BooleanField(default=True)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="organisation", editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["short_name"]
        permissions = [
            ("author_document", "Author documents for the organisation"),
            ("approve_release", "Approve releases of the organisation's documents"),
            ("manage_members", "Manage members, clearances and read-ins"),
            ("sign_agreement", "Sign sharing agreements for the organisation"),
        ]

    def __str__(self) -> str:
        return self.short_name

    def save(self, *args, **kwargs) -> None:
        if self.group_id is None:
            self.group = Group.objects.create(name=f"org:{self.code}")
        super().save(*args, **kwargs)


# Direct-foreign-key object permissions: guardian joins on a real FK instead of a generic
# (content type, text id) pair, so role checks are one indexed query.
class OrganisationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Organisation, on_delete=models.CASCADE)


class OrganisationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Organisation, on_delete=models.CASCADE)


_SESSION_HASH_SALT = "accounts.User.get_session_auth_hash"
# The attribute a request's user carries while a secondee acts for the host (`affiliations.py`).
ACTING_FOR_HOST = "acting_for_host_affiliation"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Signs in by email; portal admins are staff."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(unique=True)
    display_name = models.CharField(max_length=150)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="members", null=True, blank=True
    )
    nationality = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Raised by every credential reset (MFA reset, password reset or change, deactivation): it
    # is part of the session auth hash, so every session signed in before the reset stops
    # verifying on its next request (`accounts.services.credentials`).
    credentials_epoch = models.PositiveIntegerField(default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name", "nationality"]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs) -> None:
        """Save; a password replaced by any path — the portal's own pages, the Django admin,
        `manage.py changepassword`, a shell — ends every session and API token made with the old
        one, audited, in the same transaction (`accounts.services.credentials.password_replaced`)."""
        replaced = self._replaces_password(kwargs.get("update_fields"))
        # A secondee presented as a member of the host (`accounts.affiliations`) still belongs to
        # the home: the row never takes the organisation the request acts for.
        acting = getattr(self, ACTING_FOR_HOST, None)
        if acting is not None:
            self.organisation_id = self.home_organisation_id
        try:
            with transaction.atomic():
                super().save(*args, **kwargs)
                if replaced:
                    # The services import this module: the hook is reached at call time.
                    from .services.credentials import password_replaced

                    password_replaced(self)
        finally:
            if acting is not None:
                self.organisation = acting.host

    def _replaces_password(self, update_fields) -> bool:
        """Whether this save replaces a stored password hash with another. A hash upgrade of the
        same password (`check_password`) is not a new password; nor is the first password of a
        row saved without any (not even an unusable one), which nothing can have signed in with."""
        if self._state.adding or self.pk is None or getattr(self, "_rehashing", False):
            return False
        if update_fields is not None and "password" not in update_fields:
            return False
        stored = type(self)._default_manager.filter(pk=self.pk).values_list("password", flat=True).first()
        return bool(stored) and stored != self.password

    def check_password(self, raw_password) -> bool:
        # As Django's, but its hash upgrade is marked so that `save` does not take it for a reset.
        def setter(raw_password):
            self.set_password(raw_password)
            self._password = None
            self._rehashing = True
            try:
                self.save(update_fields=["password"])
            finally:
                self._rehashing = False

        return check_password(raw_password, self.password, setter)

    async def acheck_password(self, raw_password) -> bool:
        return await sync_to_async(self.check_password)(raw_password)

    def get_session_auth_hash(self) -> str:
        """Django's check on every request (`django.contrib.auth.get_user`) compares this with
        the hash the session stored at sign-in; it covers the credentials epoch as well as the
        password, so a reset that raises the epoch ends every session signed in before it."""
        return self._credentials_hash()

    def get_session_auth_fallback_hash(self):
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._credentials_hash(secret=fallback_secret)

    def _credentials_hash(self, secret: str | None = None) -> str:
        value = f"{self.password}:{self.credentials_epoch}"
        return salted_hmac(_SESSION_HASH_SALT, value, secret=secret, algorithm="sha256").hexdigest()


class Tier(models.Model):
    """A level of the classification ladder. Higher rank is more sensitive."""

    code = models.SlugField(max_length=40, unique=True, allow_unicode=False)
    rank = models.PositiveSmallIntegerField(unique=True)
    name = models.CharField(max_length=60)
    # Country code -> the partner's own word for this tier, shown on its people's banners.
    labels = models.JSONField(default=dict, blank=True)
    colour = models.CharField(
        max_length=7, validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #007a33.")]
    )
    two_person = models.BooleanField(
        default=False, help_text="Grants at this tier need a second organisation admin to approve."
    )

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name

    def label_for(self, country_code: str | None) -> str:
        return self.labels.get(country_code or "", self.name)


class Compartment(models.Model):
    """A need-to-know programme: a reader must be read in to every compartment of a document."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="compartments", null=True, blank=True
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code.upper()


class ReadInQuerySet(models.QuerySet["ReadIn"]):
    def valid_at(self, when) -> ReadInQuerySet:
        return self.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=when), granted_at__lte=when, revoked_at__isnull=True
        )

    def valid_now(self) -> ReadInQuerySet:
        return self.valid_at(timezone.now())


class ReadIn(models.Model):
    """A user read in to a compartment, until it expires or is revoked."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="read_ins")
    compartment = models.ForeignKey(Compartment, on_delete=models.PROTECT, related_name="read_ins")
    granted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    objects = ReadInQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["user", "compartment"], name="readin_user_compartment")]

    def __str__(self) -> str:
        return f"{self.user} read in to {self.compartment}"

    def is_valid_at(self, when) -> bool:
        return (
            self.revoked_at is None and self.granted_at <= when and (self.expires_at is None or self.expires_at > when)
        )


class ReadInNomination(models.Model):
    """A partner admin's request that one of its people be read in to a compartment another
    organisation owns. No read-in exists until an admin of the owner approves it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting the owner's decision"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="readin_nominations")
    compartment = models.ForeignKey(Compartment, on_delete=models.PROTECT, related_name="nominations")
    expires_at = models.DateTimeField(null=True, blank=True)
    nominated_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    nominated_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)
    readin = models.OneToOneField(ReadIn, on_delete=models.PROTECT, related_name="nomination", null=True, blank=True)

    class Meta:
        ordering = ["-nominated_at"]

    def __str__(self) -> str:
        return f"{self.user} nominated for {self.compartment}"


class ClearanceGrantQuerySet(models.QuerySet["ClearanceGrant"]):
    def valid_at(self, when) -> ClearanceGrantQuerySet:
        """Grants that count at `when`: approved, not revoked, and `when` within their dates."""
        return self.filter(
            status=ClearanceGrant.Status.ACTIVE,
            revoked_at__isnull=True,
            valid_from__lte=when,
            valid_until__gt=when,
        )

    def valid_now(self) -> ClearanceGrantQuerySet:
        return self.valid_at(timezone.now())


class ClearanceGrant(models.Model):
    """A clearance at a tier for a period. A user's clearance is the highest grant valid now."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending second approval"
        ACTIVE = "active", "Active"
        REFUSED = "refused", "Refused"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="clearance_grants")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField()
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    granted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True)
    granted_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    # A renewal replaces an earlier grant; the earlier one is kept for the record.
    renews = models.ForeignKey("self", on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    objects = ClearanceGrantQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["user", "valid_until"], name="clearance_user_until")]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gt=models.F("valid_from")), name="clearance_dates_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.user} cleared {self.tier} until {self.valid_until:%Y-%m-%d}"

    def is_valid_at(self, when) -> bool:
        return (
            self.status == self.Status.ACTIVE and self.revoked_at is None and self.valid_from <= when < self.valid_until
        )


def clearance_of(user: User, when=None) -> Tier | None:
    """The highest tier among the user's grants valid at `when` (default: now).

    A secondee acting for the host (`affiliations.py`) is cleared to the host's grant for the
    secondment, never above what the home attests now: the lower of the two, and nothing after
    the secondment ends."""
    when = when or timezone.now()
    grant = (
        ClearanceGrant.objects.valid_at(when).filter(user=user).select_related("tier").order_by("-tier__rank").first()
    )
    acting = getattr(user, ACTING_FOR_HOST, None)
    if grant is None or acting is None:
        return grant.tier if grant else None
    if when >= acting.ends_at:
        return None
    return acting.clearance if acting.clearance.rank < grant.tier.rank else grant.tier


class SignedInSession(models.Model):
    """One signed-in browser session, as its person sees it on their sessions page: which
    browser, from where, since when. Ending it deletes the session itself (`accounts.sessions`),
    so its next request is signed out; the row stays, ended, for the record."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="signed_in_sessions")
    # The session's current key (it changes when the second factor is proven), never shown.
    session_key = models.CharField(max_length=40, db_index=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [models.Index(fields=["user", "ended_at"], name="signedinsession_user_open")]

    def __str__(self) -> str:
        return f"{self.user} since {self.created_at:%Y-%m-%d %H:%M}"
