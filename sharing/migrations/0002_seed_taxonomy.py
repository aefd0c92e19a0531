"""Seed the risk-domain taxonomy and the default handling caveats."""

from __future__ import annotations

from django.db import migrations

RISK_DOMAINS = [
    ("cbrn", "CBRN"),
    ("cyber-offence", "Cyber offence"),
    ("autonomy", "Autonomy and self-replication"),
    ("ai-rnd", "AI R&D acceleration"),
    ("persuasion", "Persuasion and manipulation"),
    ("safeguards", "Safeguards and jailbreaks"),
    ("other", "Other"),
]

CAVEATS = [
    ("orcon", "ORCON", "Originator controlled: only the originating organisation may release it onward."),
]


def seed(apps, schema_editor):
    RiskDomain = apps.get_model("sharing", "RiskDomain")
    Caveat = apps.get_model("sharing", "Caveat")
    for position, (code, name) in enumerate(RISK_DOMAINS):
        RiskDomain.objects.get_or_create(code=code, defaults={"name": name, "position": position})
    for code, label, description in CAVEATS:
        Caveat.objects.get_or_create(code=code, defaults={"label": label, "description": description})


class Migration(migrations.Migration):
    dependencies = [("sharing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
