"""A GIN index for full-text search of revisions' snapshots, on PostgreSQL only: partners search
the revision released to them, never a document's latest text.

It is built on the very expression `sharing.selectors.revision_search_vector()` queries with, so
the planner can use it; change both together. SQLite (the embedded demo) searches without it.
"""

from __future__ import annotations

from django.db import migrations

INDEX_NAME = "revision_search"


def _index():
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector
    from django.db.models.fields.json import KT

    vector = (
        SearchVector(KT("snapshot__title"), weight="A", config="english")
        + SearchVector(KT("snapshot__summary"), weight="B", config="english")
        + SearchVector(KT("snapshot__body"), weight="C", config="english")
    )
    return GinIndex(vector, name=INDEX_NAME)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("sharing", "DocumentRevision"), _index())


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("sharing", "DocumentRevision"), _index())


class Migration(migrations.Migration):
    dependencies = [("sharing", "0009_visibility_dates_by_organisation")]
    operations = [migrations.RunPython(create, drop)]
