"""Sandbox pieces that need no notebook run: uids, control groups, the allow-list."""

import pytest

from autograder.batch import sandbox
from autograder.batch.cgroups import Group


@pytest.mark.skipif(not sandbox.isolation_available(), reason="sandbox uids are allocated only as root on Linux")
def test_two_live_sandboxes_never_share_a_uid():
    with sandbox.sandbox_uid() as first, sandbox.sandbox_uid() as second:
        assert first != second and {first, second} <= set(range(sandbox.SANDBOX_UID_BASE, sandbox.SANDBOX_UID_BASE + 4096))
    with sandbox.sandbox_uid() as again:
        assert again == first  # released when the sandbox ends


def test_the_allow_list_shows_only_what_a_notebook_needs(tmp_path):
    script = sandbox.isolation_script(tmp_path / "work", tmp_path / "root", ["python"], 61000, sandbox.Limits())
    binds = [line.split()[-2] for line in script.splitlines() if line.startswith("mount --rbind")]
    assert "/usr" in binds and str(sandbox.REPO if hasattr(sandbox, "REPO") else "/nonexistent") not in binds
    assert all("solutions" not in path and "autograder" not in path for path in binds)
    for private in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
        assert "mount -t tmpfs -o size=" in script and f"{tmp_path / 'root'}{private}" in script
    assert "chroot" in script and "--no-new-privs" in script


@pytest.mark.skipif(not Group.available(), reason="control groups need root and a cgroup hierarchy")
def test_a_control_group_is_created_limited_and_removed():
    group = Group("test-group", 256 << 20, 32).create()
    try:
        assert group.folders and all(folder.is_dir() for folder in group.folders)
        assert not group.out_of_memory()
    finally:
        group.destroy()
    assert not any(folder.exists() for folder in group.folders)
