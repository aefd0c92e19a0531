from __future__ import annotations

import pytest

from portal.checks import key_directory_permissions


@pytest.fixture
def key_dir(tmp_path, settings):
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o700)
    directory.chmod(0o700)
    (directory / "master.key").write_text("x")
    (directory / "master.key").chmod(0o600)
    settings.KEY_DIR = directory
    settings.MASTER_KEY_FILE = directory / "master.key"
    return directory


def test_private_key_directory_passes(key_dir):
    assert key_directory_permissions(None) == []


def test_group_readable_key_directory_warns(key_dir):
    key_dir.chmod(0o750)
    assert [w.id for w in key_directory_permissions(None)] == ["accord.W001"]


def test_world_readable_key_file_warns(key_dir):
    (key_dir / "audit_signing.key").write_text("k")
    (key_dir / "audit_signing.key").chmod(0o644)
    warnings = key_directory_permissions(None)
    assert [w.id for w in warnings] == ["accord.W002"]
    assert "audit_signing.key" in warnings[0].msg


def test_master_key_outside_the_directory_is_checked_too(key_dir, tmp_path, settings):
    outside = tmp_path / "elsewhere.key"
    outside.write_text("x")
    outside.chmod(0o640)
    settings.MASTER_KEY_FILE = outside
    assert [w.id for w in key_directory_permissions(None)] == ["accord.W002"]
