# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""report_files: write a run's report files on the controller in one task, each atomically.

Runs in the controller's process: no module is sent anywhere, which is the point (a copy or
template task costs a module run per file, seconds for a daily report of two files). The
options and results are documented in plugins/modules/report_files.py.
"""

from __future__ import annotations

import os
import stat
import tempfile

from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import readable_sentence
from ansible_collections.sre.runbooks.plugins.module_utils._common.report_files_args import ARGUMENT_SPEC

# The longest file name Linux file systems take, in bytes.
NAME_MAX = 255


def octal_mode(text, option):
    """``"0640"`` as an int; AnsibleActionFail in one sentence for anything else."""
    try:
        value = int(str(text), 8)
    except ValueError:
        value = -1
    if not 0 <= value <= 0o7777:
        raise AnsibleActionFail(f"{option} must be an octal file mode such as 0640, not {str(text)[:40]!r}.")
    return value


def check_name(name):
    """A file name within ``dest``: no directory part, not empty, not . or .."""
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\0" in name:
        raise AnsibleActionFail(f"files: {str(name)[:80]!r} is not a plain file name (no directory part).")
    if len(to_bytes(name, errors="surrogate_or_strict")) > NAME_MAX:
        raise AnsibleActionFail(f"files: the name {name[:40]!r}... is longer than {NAME_MAX} bytes.")
    return name


def read_text(path):
    """The file's text, or None when it does not exist; AnsibleActionFail when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return to_text(handle.read(), errors="surrogate_or_strict")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AnsibleActionFail(f"Cannot read {path}: {exc.strerror or exc}.") from None


def write_atomically(path, content, mode):
    """Write ``content`` next to ``path`` and rename it over, so a reader never sees half a report."""
    directory = os.path.dirname(path)
    handle, temporary = tempfile.mkstemp(prefix=".report_files.", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(to_bytes(content, errors="surrogate_or_strict"))
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_reports(dest, files, mode, directory_mode, check_mode, diff):
    """Write ``files`` ({name: text}) into ``dest``, those whose text or mode differ, atomically; the task's
    result keys (changed, dest, files, written, diff). AnsibleActionFail in one sentence before anything is
    written for a bad name, mode or destination. Shared with health_check_report."""
    mode = octal_mode(mode, "mode")
    directory_mode = octal_mode(directory_mode, "directory_mode")
    files = {check_name(name): "" if content is None else to_text(content) for name, content in files.items()}
    if not dest:
        raise AnsibleActionFail("dest must name a directory.")
    if "\0" in dest:
        raise AnsibleActionFail("dest must not contain a NUL byte.")
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise AnsibleActionFail(f"dest {dest} exists and is not a directory.")
    paths = {name: os.path.join(dest, name) for name in files}
    for path in paths.values():
        if os.path.lexists(path) and (os.path.islink(path) or not os.path.isfile(path)):
            raise AnsibleActionFail(f"files: {path} exists and is not a regular file.")
    before = {name: read_text(path) for name, path in paths.items()}
    changed = [name for name in files if before[name] != files[name]
               or (before[name] is not None and stat.S_IMODE(os.stat(paths[name]).st_mode) != mode)]
    if changed and not check_mode:
        try:
            os.makedirs(dest, mode=directory_mode, exist_ok=True)
            for name in changed:
                write_atomically(paths[name], files[name], mode)
        except OSError as exc:
            raise AnsibleActionFail(f"Cannot write the reports in {dest}: {exc.strerror or exc}.") from None
    result = {"changed": bool(changed), "dest": dest, "files": [paths[name] for name in files],
              "written": [paths[name] for name in changed]}
    if diff:
        result["diff"] = [{"before_header": paths[name], "after_header": paths[name],
                           "before": before[name] or "", "after": files[name]} for name in changed]
    return result


class ActionModule(ActionBase):
    """Writes ``files`` ({name: text}) into ``dest`` on the controller."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        if "files" in self._task.args and not isinstance(self._task.args["files"], Mapping):
            raise AnsibleActionFail("files must be a mapping of file names to their text, not "
                                    f"{type(self._task.args['files']).__name__.lstrip('_').replace('AnsibleTagged', '')}.")
        try:
            _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            raise AnsibleActionFail(readable_sentence(exc.message)) from None
        result.update(write_reports(args["dest"], args["files"], args["mode"], args["directory_mode"],
                                    check_mode=self._task.check_mode, diff=self._task.diff))
        return result
