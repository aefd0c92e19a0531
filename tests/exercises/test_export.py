"""The export a pipeline reads to launch the protocol's Inspect runs (docs/API.md)."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from exercises import protocol as spec
from exercises.services import protocol_draft, protocol_sign

from .support import TASKS

pytestmark = pytest.mark.django_db


@pytest.fixture
def adopted(exercise, uk_lead_author, uk_signatory, us_signatory):
    version = protocol_draft(
        actor=uk_lead_author,
        exercise=exercise,
        target_model="lab/model-x",
        reference_models=["lab/model-r"],
        tasks=TASKS,
    )
    for person in (uk_signatory, us_signatory):
        version = protocol_sign(actor=person, version=version, digest=version.digest)
    return version


def test_export_shape(adopted, exercise):
    data = spec.export_version(adopted)
    assert set(data) == {"format", "exercise", "protocol", "content", "runs", "signatures"}
    assert data["format"] == "accord.protocol/1"
    assert data["exercise"] == {"code": str(exercise.code), "reference": "JOINT-EX-9"}
    assert data["protocol"]["version"] == 1 and data["protocol"]["status"] == "adopted"
    assert data["protocol"]["digest"] == adopted.digest == hashlib.sha256(spec.canonical(data["content"])).hexdigest()
    assert data["content"]["models"] == {"target": "lab/model-x", "references": ["lab/model-r"]}
    cybench = data["content"]["tasks"][0]
    assert cybench == {
        "task": "inspect_evals/cybench",
        "task_version": "1.0.0",
        "dataset": {
            "name": "cybench",
            "sample_ids": ["avatar", "back_to_the_past", "chunky"],
            "sample_ids_sha256": hashlib.sha256(b'["avatar","back_to_the_past","chunky"]').hexdigest(),
        },
        "scorers": ["includes"],
        "metrics": ["accuracy", "stderr"],
        "epochs": 3,
        "generate_config": {"temperature": 0.5, "max_tokens": 4096, "seed": 42},
        "solver": "basic_agent",
    }
    # One run for each task and model; unset generation settings are left to Inspect's defaults.
    assert [(r["task"], r["model"]) for r in data["runs"]] == [
        ("inspect_evals/cybench", "lab/model-x"),
        ("inspect_evals/cybench", "lab/model-r"),
        ("inspect_evals/gpqa_diamond", "lab/model-x"),
        ("inspect_evals/gpqa_diamond", "lab/model-r"),
    ]
    assert data["runs"][2]["generate_config"] == {} and data["runs"][2]["sample_ids"] == [1, 2, 3]
    assert sorted(s["organisation"] for s in data["signatures"]) == ["caisi", "ukasi"]
    json.dumps(data)  # JSON all the way down


def test_an_exported_task_list_drafts_the_same_digest(adopted, exercise, uk_lead_author):
    """The export's tasks, pasted back into the draft form, are the same protocol."""
    from exercises.forms import ProtocolForm

    data = spec.export_version(adopted)
    form = ProtocolForm(
        {
            "target_model": "lab/model-x",
            "reference_models": "lab/model-r",
            "tasks": json.dumps(data["content"]["tasks"]),
        }
    )
    assert form.is_valid(), form.errors
    tasks = spec.parse_tasks(form.cleaned_data["tasks"])
    assert spec.digest_of(spec.content_of("lab/model-x", ["lab/model-r"], tasks)) == adopted.digest


def test_export_download_for_a_member_is_json_and_audited(client, us_reader, adopted):
    from tests.factories import login_verified

    login_verified(client, us_reader)
    response = client.get(reverse("exercises:protocol_export", args=[adopted.code]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert 'filename="joint-ex-9-protocol-v1.json"' in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    assert json.loads(response.content) == spec.export_version(adopted)
    assert AuditEvent.objects.filter(action=Action.PROTOCOL_EXPORTED, actor_id=us_reader.pk).exists()


def test_the_docs_snippet_turns_the_export_into_inspect_commands(adopted, tmp_path):
    """docs/API.md's "Exercise protocols" snippet, run exactly as written on an exported file."""
    import re
    import subprocess  # noqa: S404
    import sys
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "API.md").read_text()
    section = text[text.index("## Exercise protocols") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exported = tmp_path / "protocol.json"
    exported.write_text(json.dumps(spec.export_version(adopted)))
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, str(exported)], capture_output=True, text=True, check=True, timeout=60
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert lines[0] == (
        "inspect eval inspect_evals/cybench --model lab/model-x --sample-id avatar,back_to_the_past,chunky "
        "--epochs 3 --solver basic_agent --temperature 0.5 --max-tokens 4096 --seed 42 "
        f"--tags accord-protocol-{adopted.code}"
    )
    assert lines[3].startswith("inspect eval inspect_evals/gpqa_diamond --model lab/model-r --sample-id 1,2,3 ")
    assert "--epochs 1 --solver multiple_choice --tags" in lines[3]
