# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Running the PostgreSQL client programs (pg_dump, pg_dumpall, pg_restore, psql) safely.

* :func:`find_tools` picks client programs whose major version suits the server (the same
  major if installed, else the nearest newer one), from ``bin_dir`` or the usual places.
* :func:`run_chain` runs a chain of programs joined by pipes (``pg_dump | gzip``) and checks
  every exit status, so a failure early in the chain is never hidden by a pipe; the failing
  program's own error line becomes the message of :class:`ToolError`. The chain's output can be
  streamed to a callback (which hashes and writes it) instead of a shell redirect.
* Connection settings reach the programs through libpq environment variables
  (:func:`tool_env`), never through the command line.

Programs are started through a *transport* object; :class:`LocalTransport` runs them on the
managed host. A transport that runs them elsewhere (for example ``kubectl exec`` into the
database pod through the Kubernetes API) only needs to provide ``spawn()`` with the same
contract.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile

from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import (
    APPLICATION_NAME,
    PostgresError,
    connection_kwargs,
    describe_connect_error,
    libpq_env,
    psycopg2,
)

TOOLS = ("pg_dump", "pg_dumpall", "pg_restore", "psql")
CHUNK = 1024 * 1024
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
_PSQL_LOCATION = re.compile(r"^psql:[^:]*:\d+:\s*")


class ToolError(Exception):
    """A client program failed or is missing; ``str()`` is one sentence fit for fail_json."""


def parse_version(text):
    """(major, minor) from '--version' output such as 'pg_dump (PostgreSQL) 15.18 (Debian ...)'."""
    found = _VERSION.search(text or "")
    if not found:
        return None
    return int(found.group(1)), int(found.group(2) or 0)


def version_text(version):
    return f"{version[0]}.{version[1]}" if version else "unknown"


def candidate_dirs(bin_dir=None):
    """Directories that may hold the client programs: ``bin_dir`` alone, else versioned dirs then PATH."""
    if bin_dir:
        return [bin_dir]
    versioned = glob.glob("/usr/lib/postgresql/*/bin") + glob.glob("/usr/pgsql-*/bin") + \
        glob.glob("/opt/homebrew/opt/postgresql@*/bin") + glob.glob("/usr/local/opt/postgresql@*/bin")
    dirs = sorted(versioned)
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if entry and entry not in dirs:
            dirs.append(entry)
    return dirs


def choose_version(found, server_major):
    """From ``[(version, dir)]``, the directory whose major equals the server's, else the nearest newer one.

    A newer pg_dump than needed can write SQL an older server rejects (pg_dump 17 emits
    ``SET transaction_timeout``), so the closest suitable major wins. None when none suits.
    """
    suitable = [(version, path) for version, path in found if server_major is None or version[0] >= server_major]
    if not suitable:
        return None
    if server_major is None:
        return max(suitable)[1]
    return min(suitable, key=lambda item: (item[0][0] - server_major, -item[0][1]))[1]


def find_tools(server_major, bin_dir=None, names=TOOLS, runner=None):
    """Paths of ``names`` from one directory whose pg_dump suits ``server_major``; raises ToolError.

    Returns ``{"bin_dir", "version", name: path...}``.
    """
    runner = runner or _version_of
    found = []
    for directory in candidate_dirs(bin_dir):
        paths = {name: os.path.join(directory, name) for name in names}
        if not all(os.path.isfile(p) and os.access(p, os.X_OK) for p in paths.values()):
            continue
        version = runner(paths[names[0]])
        if version:
            found.append((version, directory))
    chosen = choose_version(found, server_major)
    wanted = f"{names[0]} {server_major} or later" if server_major else names[0]
    if chosen is None:
        where = f"in bin_dir {bin_dir}" if bin_dir else "in /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin or PATH"
        seen = ", ".join(f"{version_text(v)} in {d}" for v, d in sorted(found)) or "none"
        raise ToolError(f"No usable {wanted} (with {', '.join(names[1:])}) was found {where} (found: {seen}); "
                        "install the PostgreSQL client programs or set bin_dir.")
    version = dict((d, v) for v, d in found)[chosen]
    tools = {name: os.path.join(chosen, name) for name in names}
    tools.update(bin_dir=chosen, version=version)
    return tools


def _version_of(path):
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_version(out.stdout)


def find_program(name):
    """Absolute path of a helper program (gzip, zstd) or ToolError."""
    path = shutil.which(name)
    if not path:
        raise ToolError(f"The {name} program is needed for this compression but is not installed on the managed host.")
    return path


def tool_env(params, database=None, application_name=APPLICATION_NAME):
    """The environment for a client program: ours, plus libpq settings; messages in English for parsing."""
    conn = dict(params)
    if database is not None:
        conn["database"] = database
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG") and key != "LC_ALL"}
    env.update(libpq_env(conn, application_name))
    env["LC_MESSAGES"] = "C"
    return env


def connect_database(params, database, application_name=APPLICATION_NAME, autocommit=True):
    """A psycopg2 connection to another database of the same server; raises PostgresError in one sentence.

    CREATE/DROP DATABASE and restores into a database that may not exist yet need a
    connection to the maintenance database rather than the one named by ``database``.
    """
    conn_params = dict(params, database=database)
    try:
        conn = psycopg2.connect(**connection_kwargs(conn_params, application_name))
    except psycopg2.Error as exc:
        raise PostgresError(describe_connect_error(conn_params, exc)) from None
    conn.autocommit = autocommit
    return conn


def error_summary(stderr_text, tool, returncode=None):
    """The program's own error line (plus its first detail line), without noise; for messages.

    'pg_dump: error: Dumping the contents of table "t" failed: PQgetResult() failed. (Error
    message from server: FATAL: terminating connection due to administrator command)'
    """
    lines = [line.strip() for line in (stderr_text or "").splitlines() if line.strip()]
    error_at = None
    for index, line in enumerate(lines):
        if (line.startswith(f"{tool}: error:") or " ERROR: " in f" {_PSQL_LOCATION.sub('', line)} "
                or line.startswith("FATAL:") or re.search(r"\b(ERROR|FATAL):\s", line)):
            error_at = index
            break
    if error_at is None:
        if lines:
            return _squash(lines[-1])
        signal_number = -(returncode or 0)  # a negative status is the signal that killed the tool
        if signal_number > 0:
            return f"{tool} was killed by signal {signal_number}"
        return f"{tool} exited with status {returncode}"
    message = _squash(lines[error_at])
    for line in lines[error_at + 1:error_at + 3]:
        if line.startswith(f"{tool}: detail:"):
            detail = _squash(line[len(f"{tool}: detail:"):])
            message = f"{message.rstrip('.')}. ({detail})"
            break
    return message


def _squash(text):
    return re.sub(r"\s+", " ", text).strip()


def has_error_line(stderr_text, tool):
    """True when a program printed an error even though it exited 0 (old pg_dump versions did)."""
    return any(line.startswith(f"{tool}: error:") for line in (stderr_text or "").splitlines())


class LocalTransport:
    """Runs client programs on the managed host (the module's own host)."""

    name = "local"

    def spawn(self, argv, env, stdin=None, stdout=None, stderr=None):
        return subprocess.Popen(argv, env=env, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                stdout=stdout if stdout is not None else subprocess.DEVNULL, stderr=stderr,
                                close_fds=True)


def run_chain(commands, env, consumer=None, transport=None, transports=None):
    """Run ``commands`` joined by pipes, and check every exit status; raises ToolError on any failure.

    With ``consumer``, the last program's output is read here in 1 MiB chunks and handed to
    ``consumer(chunk)``; otherwise it is discarded. Returns one ``{"program", "returncode",
    "stderr"}`` per command. When several programs fail, the one furthest down the chain is
    reported (an upstream program then usually only saw a broken pipe). ``transports`` gives one
    transport per command (None: ``transport``), so a program in a pod can feed a local one.
    """
    transport = transport or LocalTransport()
    transports = [each or transport for each in (transports or [None] * len(commands))]
    procs = []
    errfiles = []
    pump_error = None
    try:
        previous = None
        for index, argv in enumerate(commands):
            last = index == len(commands) - 1
            errfile = tempfile.TemporaryFile()
            errfiles.append(errfile)
            stdout = subprocess.PIPE if (not last or consumer is not None) else subprocess.DEVNULL
            try:
                source = previous.stdout if previous else None
                proc = transports[index].spawn(argv, env, stdin=source, stdout=stdout, stderr=errfile)
            except OSError as exc:
                raise ToolError(f"Could not start {os.path.basename(argv[0])}: {_os_error_text(exc)}.") from None
            if previous is not None:
                previous.stdout.close()  # the next program owns the read end; SIGPIPE reaches the writer
            procs.append(proc)
            previous = proc
        if consumer is not None:
            reader = procs[-1].stdout
            try:
                while True:
                    chunk = reader.read(CHUNK)
                    if not chunk:
                        break
                    consumer(chunk)
            except Exception as exc:  # the consumer failed (disk full...): stop the chain
                pump_error = exc
                _kill(procs)
            finally:
                reader.close()
        for proc in procs:
            proc.wait()
    except BaseException:
        _kill(procs)
        for errfile in errfiles:
            errfile.close()
        raise
    results = []
    for argv, proc, errfile in zip(commands, procs, errfiles):
        errfile.seek(0)
        text = errfile.read().decode("utf-8", "replace")
        errfile.close()
        results.append({"program": os.path.basename(argv[0]), "returncode": proc.returncode, "stderr": text})
    if pump_error is not None:
        raise ToolError(f"Writing the output of {results[0]['program']} failed: {_os_error_text(pump_error)}.")
    for result in reversed(results):
        if result["returncode"] != 0:
            raise ToolError(tool_message(result["stderr"], result["program"], result["returncode"]))
    for result in results:
        if has_error_line(result["stderr"], result["program"]):
            raise ToolError(tool_message(result["stderr"], result["program"]))
    return results


def tool_message(stderr_text, program, returncode=None):
    """A program's own error line, prefixed with its name when the line does not carry it."""
    line = error_summary(stderr_text, program, returncode)
    if not line.startswith(program):
        line = f"{program}: {line}"
    return line if line.endswith((".", ")")) else line + "."


def _kill(procs):
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _os_error_text(exc):
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}{' (' + exc.filename + ')' if exc.filename else ''}"
    return str(exc)


def feed_psql(psql_argv, env, source_path=None, source_commands=None, transport=None):
    """Run a plain SQL script through psql inside one transaction that commits only on a clean end.

    The script comes from ``source_path`` (read here) or from the output of ``source_commands``
    (a decompressor). It is sent between ``BEGIN`` and ``COMMIT``, and ``COMMIT`` is sent only
    when the whole script was read without error: a truncated or corrupt input ends the session
    with the transaction rolled back, instead of committing half a restore as ``psql -1 < file``
    would. ``psql_argv`` should set ``ON_ERROR_STOP=1``. Raises ToolError.
    """
    transport = transport or LocalTransport()
    errfile = tempfile.TemporaryFile()
    try:
        psql = transport.spawn(psql_argv, env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errfile)
    except OSError as exc:
        errfile.close()
        raise ToolError(f"Could not start {os.path.basename(psql_argv[0])}: {_os_error_text(exc)}.") from None
    source_error = None
    try:
        psql.stdin.write(b"BEGIN;\n")
        if source_commands:
            run_chain(source_commands, env, consumer=psql.stdin.write, transport=transport)
        else:
            with open(source_path, "rb") as handle:
                while True:
                    chunk = handle.read(CHUNK)
                    if not chunk:
                        break
                    psql.stdin.write(chunk)
        psql.stdin.write(b"\nCOMMIT;\n")
    except (ToolError, OSError) as exc:
        source_error = exc
    finally:
        try:
            psql.stdin.close()
        except OSError:
            pass
        psql.wait()
    errfile.seek(0)
    stderr = errfile.read().decode("utf-8", "replace")
    errfile.close()
    program = os.path.basename(psql_argv[0])
    if psql.returncode != 0 or has_error_line(stderr, program) or re.search(r"\bERROR:\s", stderr):
        raise ToolError(f"{tool_message(stderr, program, psql.returncode).rstrip('.')}; the transaction was rolled back.")
    if source_error is not None:
        text = str(source_error) if isinstance(source_error, ToolError) else _os_error_text(source_error)
        raise ToolError(f"{text.rstrip('.')}; nothing was committed.")
    return {"program": program, "returncode": psql.returncode, "stderr": stderr}
