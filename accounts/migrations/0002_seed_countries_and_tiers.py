"""Seed ISO 3166-1 countries and the default classification ladder."""

from __future__ import annotations

import json
from pathlib import Path

from django.db import migrations

DEFAULT_TIERS = [
    # code, rank, name, per-country labels, colour, two-person
    ("official", 10, "OFFICIAL", {"USA": "UNCLASSIFIED"}, "#00703c", False),
    ("official-sensitive", 20, "OFFICIAL-SENSITIVE", {"USA": "CUI"}, "#1d70b8", False),
    ("secret", 30, "SECRET", {}, "#c8102e", True),
]


def seed(apps, schema_editor):
    Country = apps.get_model("accounts", "Country")
    Tier = apps.get_model("accounts", "Tier")
    rows = json.loads((Path(__file__).resolve().parent.parent / "data" / "countries.json").read_text())
    for row in rows:
        Country.objects.update_or_create(code=row["code"], defaults={"name": row["name"]})
    for code, rank, name, labels, colour, two_person in DEFAULT_TIERS:
        Tier.objects.get_or_create(
            code=code, defaults={"rank": rank, "name": name, "labels": labels, "colour": colour, "two_person": two_person}
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
