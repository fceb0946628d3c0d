"""pg_backup, pg_restore and pg_backup_info given hostile arguments, damaged manifests and hostile endpoints.

Every case must end without a traceback, a hang, a leaked secret, damage or a wrong success.
"""

from __future__ import annotations

import pytest

from tests.integration.badinput.hostile import (
    DAMAGED_MANIFESTS,
    BACKUP_NAME,
    canary,
    s3_bucket,
    write_backup_dir,
)
from tests.integration.badinput.strategies import generated_cases
from tests.integration.badinput.suite import Case, run_and_judge
from ansible_collections.sre.runbooks.plugins.module_utils._backup.args import (
    backup_argument_spec,
    info_argument_spec,
    restore_argument_spec,
)

pytestmark = pytest.mark.slow

DAMAGES = list(DAMAGED_MANIFESTS) + ["non_utf8"]


@pytest.fixture(scope="module")
def world(pg_target, services, traps, kube):
    """Folders with one damaged manifest each, kubeconfigs, an S3 bucket; the canary files to watch."""
    root = traps["root"]
    damaged = {name: str(write_backup_dir(root / "manifests" / name, name, outside=str(traps["canary"])))
               for name in DAMAGES}
    s3_args = s3_bucket(services, "badinput-pg")
    return {"damaged": damaged, "s3": s3_args, "kube": kube, "backups": str(root / "backups"),
            "secrets": [pg_target.password, canary("s3-access"), canary("s3-secret"), canary("kube-token")]}


def damage(pg_target, traps, world):
    found = pg_target.damage()
    if traps["canary"].read_text() != "untouched\n":
        found.append("the canary file outside dest changed")
    parent = traps["root"] / "manifests"
    if not (parent / "x.manifest.json").exists():
        found.append("x.manifest.json next to the backup folders was deleted")
    for name, folder in world["damaged"].items():
        if not any(p.name.endswith(".manifest.json") for p in (traps["root"] / "manifests" / name).iterdir()):
            found.append(f"the damaged manifest in {folder} was pruned")
    return found


def backup_cases(pg_target, traps, world):
    args = pg_target.args
    dest = world["backups"]
    kube = world["kube"]
    present = args(dest=dest, label="bi", verify="checksum")
    pruned = args(dest=dest, label="bi", state="pruned", retention={"keep_last": 3})
    hand = [
        Case("retention as text", args(dest=dest, retention="weekly"), True),
        Case("dest under /proc", args(dest="/proc/badinput/backups"), True),
        Case("dest is a file", args(dest=traps["existing"]), True),
        Case("dest below a file", args(dest=traps["below_file"]), True),
        Case("name_template with a bad spec", args(dest=dest, name_template="{label}-{timestamp:d}"), True),
        Case("name_template with attributes", args(dest=dest, name_template="{label.__class__}"), True),
        Case("lock_wait_timeout 400 nines", args(dest=dest, lock_wait_timeout="9" * 400), True),
        Case("compression_level nan", args(dest=dest, compression_level="nan"), True),
        Case("retention keep_last nan", args(dest=dest, state="pruned", retention={"keep_last": "nan"}), True),
        Case("retention max_age_days inf", args(dest=dest, state="pruned", retention={"max_age_days": "inf"}), True),
        Case("s3 as text", args(dest=dest, s3="bogus"), True),
        Case("s3 bucket empty", args(dest=dest, s3={**world["s3"], "bucket": ""}), True),
        Case("s3 bucket invalid", args(dest=dest, s3={**world["s3"], "bucket": "Invalid Bucket!"}), True),
        Case("NUL in database", args(dest=dest, database=pg_target.database + "\x00x"), True),
        Case("extra_args overriding the file", args(dest=dest, extra_args=["--file=/tmp/x"]), True),
    ]
    for name in ("not_yaml", "clusters_oops", "refused"):
        hand.append(Case(f"exec transport with kubeconfig {name}", args(dest=dest, transport={
            "type": "kubernetes", "pod": "pg-0", "kubeconfig": kube[name]}), True))
    # Pruning meets every damaged manifest (the data-loss class); backups and restores a sample of them.
    for name, folder in world["damaged"].items():
        hand.append(Case(f"prune a folder with manifest {name}", args(dest=folder, label="nightly",
                                                                      state="pruned", retention={"keep_last": 0})))
    for name in ("version_text", "name_list", "non_utf8", "scope_everything"):
        folder = world["damaged"][name]
        hand.append(Case(f"backup into a folder with manifest {name}", args(dest=folder, label="nightly")))
    hand.append(Case("jobs a million", args(dest=dest, jobs=1000000), True))
    return hand + generated_cases(backup_argument_spec(), {"present": present, "pruned": pruned}, traps,
                                  limit=5, skip=("jobs", "transport"))


def restore_cases(pg_target, traps, world):
    """pg_restore (split out of pg_backup): every damaged manifest is refused before the target is touched."""
    args = pg_target.args
    target = "bi_restore_target"
    hand = [
        Case("forced restore with safety_dir below a file",
             args(src=world["damaged"]["size_text"], database=target, force=True, safety_dir=traps["below_file"]), True),
        Case("restore from a folder", args(src=str(traps["root"]), database=target), True),
        Case("restore with src and s3_key", args(src="/x.dump", s3_key="x.dump", database=target), True),
        Case("restore jobs nan", args(src="/x.dump", database=target, jobs="nan"), True),
    ]
    for name, folder in world["damaged"].items():
        hand.append(Case(f"restore from manifest {name}", args(src=f"{folder}/{BACKUP_NAME}.manifest.json",
                                                               database=target), True))
    # The base restores from a damaged manifest, so it and every case built on it must fail, untouched target.
    base = args(src=f"{world['damaged']['size_text']}/{BACKUP_NAME}.manifest.json", database=target)
    generated = generated_cases(restore_argument_spec(), {"restore": base}, traps, limit=14, skip=("jobs", "transport"))
    for case in generated:
        case.must_fail = True
    return hand + generated


def info_cases(traps, world, fake):
    s3 = world["s3"]
    hand = [
        Case("dest empty", {"dest": ""}, True),
        Case("dest is a file", {"dest": traps["existing"]}, True),
        Case("dest below a file", {"dest": traps["below_file"]}, True),
        Case("dest missing", {"dest": str(traps["root"] / "none")}),
        # A folder that does not exist holds no backups, under /proc as anywhere (H9 then reports none).
        Case("dest under /proc", {"dest": "/proc/badinput"}),
        Case("s3 as text", {"s3": "bogus"}, True),
        Case("s3 endpoint answers HTML", {"s3": {**s3, "endpoint_url": fake["html"].url}}, True),
        Case("s3 endpoint answers 500", {"s3": {**s3, "endpoint_url": fake["error_500"].url}}, True),
        Case("s3 endpoint never answers", {"s3": {**s3, "endpoint_url": fake["blackhole"].url, "timeout": 2}}, True),
        Case("s3 bucket invalid", {"s3": {**s3, "bucket": "Invalid Bucket!"}}, True),
        Case("s3 bucket missing", {"s3": {**s3, "bucket": "no-such-bucket-bi"}}, True),
    ]
    hand += [Case(f"folder with manifest {name}", {"dest": folder}) for name, folder in world["damaged"].items()]
    bases = {"local": {"dest": world["damaged"]["size_text"], "label": "nightly"}, "s3": {"s3": s3}}
    return hand + generated_cases(info_argument_spec(), bases, traps, limit=6)


@pytest.fixture(scope="module")
def backup_run(pg_target, traps, world):
    return run_and_judge("sre.runbooks.pg_backup", backup_cases(pg_target, traps, world), world["secrets"],
                         damage=lambda: damage(pg_target, traps, world), seconds_per_case=10)


@pytest.fixture(scope="module")
def restore_run(pg_target, traps, world):
    return run_and_judge("sre.runbooks.pg_restore", restore_cases(pg_target, traps, world), world["secrets"],
                         damage=lambda: damage(pg_target, traps, world), seconds_per_case=10)


@pytest.fixture(scope="module")
def info_run(traps, world, fake):
    return run_and_judge("sre.runbooks.pg_backup_info", info_cases(traps, world, fake), world["secrets"],
                         damage=lambda: [] if traps["canary"].read_text() == "untouched\n" else ["canary file changed"])


@pytest.mark.parametrize("run", ["backup_run", "restore_run", "info_run"])
def test_bad_input(request, run):
    cases, (summary, problems) = request.getfixturevalue(run)
    assert summary["cases"] >= 30, summary
    assert not problems, "\n".join(problems)
