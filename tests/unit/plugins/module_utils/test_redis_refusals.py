"""Commands a managed or ACL-restricted Redis refuses: one sentence saying "not permitted by the server",
and a backup that goes on without BGSAVE when the replication-stream copy does not need it."""

from __future__ import annotations

import types

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._redis.backup import BackupRun
from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import (
    RedisModuleError,
    is_not_permitted,
    refusal_message,
)

ADDRESS = "127.0.0.1:6379"


@pytest.mark.parametrize("text, permitted_word", [
    ("this user has no permissions to run the 'config|get' command", "the user's ACL does not allow it"),
    ("NOPERM this user has no permissions to run the 'sync' command", "the user's ACL does not allow it"),
    ("unknown command 'CONFIG', with args beginning with: 'GET' 'dir'", "the command is renamed or disabled there"),
    ("ERR unknown subcommand 'PURGE'. Try MEMORY HELP.", "the command is renamed or disabled there"),
])
def test_acl_and_renamed_commands_are_not_permitted_by_the_server(text, permitted_word):
    assert is_not_permitted(text)
    message = refusal_message(ADDRESS, "CONFIG GET dir", text)
    assert message.startswith(f"CONFIG GET dir is not permitted by the server at {ADDRESS} ({permitted_word}: ")
    assert message.endswith(").") and "\n" not in message


def test_other_refusals_keep_the_server_text():
    text = "ERR Invalid argument 'x' for CONFIG SET 'maxmemory-policy'"
    assert not is_not_permitted(text)
    assert refusal_message(ADDRESS, "CONFIG SET", text) == f"Redis at {ADDRESS} refused CONFIG SET: {text[4:]}."  # "ERR " dropped


class ResponseError(Exception):
    pass


def backup_run(reply):
    """A BackupRun whose client answers BGSAVE with ``reply`` (an exception) and INFO with an idle server."""
    warnings = []

    def execute_command(*args):
        raise reply

    maintainer = types.SimpleNamespace(
        module=types.SimpleNamespace(params={}, check_mode=False, warn=warnings.append),
        client=types.SimpleNamespace(execute_command=execute_command), params={}, check_mode=False,
        address=ADDRESS, redis=types.SimpleNamespace(exceptions=types.SimpleNamespace(ResponseError=ResponseError)),
        server_info=lambda section=None: {"rdb_bgsave_in_progress": 0})
    run = BackupRun.__new__(BackupRun)
    run.maintainer, run.module, run.client, run.params, run.address = (maintainer, maintainer.module, maintainer.client,
                                                                       {"wait_timeout": 5}, ADDRESS)
    return run, warnings


@pytest.mark.parametrize("text", ["this user has no permissions to run the 'bgsave' command",
                                  "unknown command 'BGSAVE', with args beginning with: 'SCHEDULE'"])
def test_a_refused_bgsave_before_a_replication_copy_is_a_warning(text):
    run, warnings = backup_run(ResponseError(text))
    assert run.bgsave_and_wait(5, optional=True) is None
    assert len(warnings) == 1 and warnings[0].startswith(f"BGSAVE is not permitted by the server at {ADDRESS}")
    assert "the backup goes on without it" in warnings[0]


def test_a_refused_bgsave_before_a_file_copy_fails_in_one_sentence():
    run, warnings = backup_run(ResponseError("this user has no permissions to run the 'bgsave' command"))
    with pytest.raises(RedisModuleError, match=r"^BGSAVE is not permitted by the server at 127\.0\.0\.1:6379 \("):
        run.bgsave_and_wait(5, optional=False)
    assert warnings == []
