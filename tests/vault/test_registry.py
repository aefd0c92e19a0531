"""The vault works on sharing's attachment rows and owns the organisation keys, without importing sharing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from sharing.models import Attachment
from vault import registry
from vault.models import OrganisationKey


def test_sharing_registers_its_attachment_model_with_the_vault():
    assert registry.attachment_model() is Attachment


def test_a_second_attachment_model_is_refused():
    with pytest.raises(ImproperlyConfigured, match="already sharing.Attachment"):
        registry.register_attachment_model(OrganisationKey)
    assert registry.attachment_model() is Attachment


@pytest.mark.django_db
def test_organisation_keys_kept_the_table_sharing_created():
    # The model moved to the vault with its rows: key material must never be copied or dropped.
    assert OrganisationKey._meta.db_table == "sharing_organisationkey"
    assert "sharing_organisationkey" in connection.introspection.table_names()
