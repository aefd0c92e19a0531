"""The organisation keys that wrap the data keys of every sealed file."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import Organisation


class OrganisationKey(models.Model):
    """A versioned key-encryption key (KEK) of an organisation, itself wrapped by the master key."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="keys")
    version = models.PositiveIntegerField()
    wrapped_key = models.BinaryField()
    # Which master key wrapped it: "file", or "pkcs11:<label>:<id>" for a key in a token
    # (vault/masterkeys.py). Rows move from one to the next by `manage.py keys migrate-to-token`
    # and `keys rotate-master`.
    master_ref = models.CharField(max_length=200, default="file", db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table sharing created before the vault existed: the model moved, its rows did not.
        db_table = "sharing_organisationkey"
        ordering = ["organisation", "-version"]
        constraints = [models.UniqueConstraint(fields=["organisation", "version"], name="orgkey_version_unique")]

    def __str__(self) -> str:
        return f"{self.organisation} KEK v{self.version}"
