"""Roles are granted only through the audited service: the Django admin offers no page that
writes a role (a guardian object permission) on an organisation directly."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse

from tests.factories import PersonFactory, login_verified

pytestmark = pytest.mark.django_db


def test_the_organisation_admin_has_no_object_permission_pages(client, ukasi):
    with pytest.raises(NoReverseMatch):
        reverse("admin:accounts_organisation_permissions", args=[ukasi.pk])
    login_verified(client, PersonFactory(organisation=None, is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:accounts_organisation_change", args=[ukasi.pk]))
    assert page.status_code == 200 and ukasi.name.encode() in page.content
    assert b"Object permissions" not in page.content
