"""A GIN index for full-text search of documents, on PostgreSQL only.

It is built on the very expression `sharing.selectors.search_vector()` queries with, so the
planner can use it; change both together. SQLite (the embedded demo) searches without it.
"""

from __future__ import annotations

from django.db import migrations

INDEX_NAME = "document_search"


def _index():
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    vector = (
        SearchVector("title", weight="A", config="english")
        + SearchVector("summary", weight="B", config="english")
        + SearchVector("body", weight="C", config="english")
    )
    return GinIndex(vector, name=INDEX_NAME)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("sharing", "Document"), _index())


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("sharing", "Document"), _index())


class Migration(migrations.Migration):
    dependencies = [("sharing", "0002_seed_taxonomy")]
    operations = [migrations.RunPython(create, drop)]
