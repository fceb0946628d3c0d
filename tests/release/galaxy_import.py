"""Galaxy's and Automation Hub's import check (galaxy-importer) on the built collection tarball.

    python -m tests.release.galaxy_import [TARBALL]     # default: the tarball `make build` wrote

Runs offline with tests/release/galaxy-importer.cfg (Automation Hub's settings: version 1.0.0 or
later, a required tag, the changelog; ansible-doc on every plugin and role) and fails on any
ERROR or WARNING line, so a check the importer skipped (ansible-doc not found, say) fails too.

galaxy.yml has no ``repository`` until the project has a public one, and the importer requires
it: the check then runs on a copy of the tarball whose MANIFEST.json names this checkout
(``file://...``), and says so. Everything else is checked on the artifact as built.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("galaxy-importer.cfg")
BUILD_DIR = REPO / ".cache" / "build"
PROBLEM = re.compile(r"^(ERROR|WARNING)\b", re.MULTILINE)


def built_tarball() -> Path:
    """The one collection tarball in .cache/build, or a one-sentence SystemExit."""
    found = sorted(BUILD_DIR.glob("sre-runbooks-*.tar.gz"))
    if len(found) != 1:
        raise SystemExit(f"Expected one sre-runbooks tarball in {BUILD_DIR} (run `make build`), found {len(found)}.")
    return found[0]


def with_repository(tarball: Path, out_dir: Path, repository: str) -> tuple[Path, bool]:
    """``tarball``, or a copy in ``out_dir`` whose MANIFEST.json has ``repository`` when it has none.

    MANIFEST.json is not listed in FILES.json, so the copy's checksums stay valid.
    """
    with tarfile.open(tarball) as source:
        manifest = json.load(source.extractfile("MANIFEST.json"))
        if manifest["collection_info"].get("repository"):
            return tarball, False
        manifest["collection_info"]["repository"] = repository
        copy = out_dir / tarball.name
        with tarfile.open(copy, "w:gz") as target:
            for member in source.getmembers():
                content = source.extractfile(member) if member.isfile() else None
                if member.name == "MANIFEST.json":
                    data = json.dumps(manifest, indent=4).encode()
                    member.size, content = len(data), io.BytesIO(data)
                target.addfile(member, content)
    return copy, True


def run_importer(tarball: Path, work: Path) -> subprocess.CompletedProcess:
    """galaxy-importer on ``tarball`` with our config; ansible-doc from this interpreter's venv."""
    env = dict(os.environ, GALAXY_IMPORTER_CONFIG=str(CONFIG),
               GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP=str(work / "ansible-tmp"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([sys.executable, "-m", "galaxy_importer.main", str(tarball)], env=env, cwd=work,
                          capture_output=True, text=True, timeout=600, check=False)


def main(argv: list[str]) -> int:
    tarball = Path(argv[0]).resolve() if argv else built_tarball()
    with tempfile.TemporaryDirectory(prefix="galaxy-import-") as tmp:
        checked, injected = with_repository(tarball, Path(tmp), REPO.as_uri())
        if injected:
            print(f"galaxy.yml names no repository; checking {tarball.name} with repository {REPO.as_uri()}")
        proc = run_importer(checked, Path(tmp))
    output = proc.stdout + proc.stderr
    print(output.rstrip())
    problems = PROBLEM.findall(output)
    if proc.returncode != 0 or problems or "Importer processing completed successfully" not in output:
        print(f"galaxy-importer did not pass on {tarball.name} (exit {proc.returncode}, "
              f"{len(problems)} ERROR/WARNING lines).")
        return 1
    print(f"galaxy-importer passed on {tarball.name}.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
