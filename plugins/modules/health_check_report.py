#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: health_check_report
short_description: Judge the daily health check's reads and write its JSON, Markdown and HTML reports in one task
version_added: 1.0.0
description:
  - Takes what M(sre.runbooks.health_check_info) read (its parts C(kubernetes), C(slo), C(postgres), C(redis),
    C(backups) and C(kafka)), judges every check of O(checks) as ok, warning, critical or unavailable (runbook rows
    H1-H9 and H12-H16), takes the run's verdict under O(fail_on), and writes three reports into O(dest)
    (C(<name>.json), C(<name>.md) and C(<name>.html)).
  - The verdicts are the same pure functions as the C(sre.runbooks.health_*_verdict) filters; the Markdown report is
    the template O(markdown_template) rendered over C(health_check_result). Everything runs in the controller's own
    process in one step, where templating the fourteen filters, the template lookup and a file task cost a task
    each.
  - The C(sre.runbooks.health_check) role's report step; usable on its own with any registered
    M(sre.runbooks.health_check_info) result.
  - Reports are run artifacts rather than managed state. They are written in check mode too (the result's
    C(check_mode) says the run only read) and never count as a change. Files whose text is already right are left
    alone; the others are written beside and renamed over, as M(sre.runbooks.report_files) writes them.
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.attributes
  - sre.runbooks.attributes.controller_action
  - sre.runbooks.report_files
attributes:
  check_mode:
    support: full
    description: It only judges what was read; the reports are written in check mode too, as the run's artifacts.
  diff_mode:
    support: none
    description: The reports are run artifacts; their text is not shown as a diff.
  idempotent:
    support: full
    description: Reports whose text is unchanged are not written again; the task never reports a change.
options:
  reads:
    description:
      - The parts read, as M(sre.runbooks.health_check_info) returns them (a registered result can be given whole; its
        other keys are ignored).
      - A part missing from O(reads) was not read. It counts as not needed (its checks say why) when its name is in
        O(tagged_parts), else as left out by C(--tags)/C(--skip-tags), and then its checks are left out of the report.
        A part given as null is left out in the same way.
    type: dict
    required: true
  tagged_parts:
    description: The parts whose tags the run selected (the role passes those C(--tags)/C(--skip-tags) leave in).
    type: list
    elements: str
    choices: [kubernetes, slo, postgres, redis, backups, kafka]
    default: [kubernetes, slo, postgres, redis, backups, kafka]
  checks:
    description: The checks to judge and report, listed in the report in the order of their runbook rows.
    type: list
    elements: str
    choices: [pods, endpoints, slo, postgres, redis, hpa, logs, resources, backups, kafka, nodes, volumes, redis_cache, model]
    required: true
  settings:
    description:
      - Each judged check's settings, as a mapping of check name to a mapping of its settings. A check in O(checks)
        must be given all of its settings; a setting a check does not take fails the task.
      - C(pods) takes C(restart_threshold). C(endpoints) takes C(endpoints) (the probed endpoints, in the order
        C(slo_check) probed them) and C(latency_warning) (seconds). C(slo) takes C(source) and C(names).
      - C(postgres) takes C(host), C(port), C(database), C(warning_percent) and C(critical_percent) (of the usable
        connections). C(redis) takes C(host), C(port), C(expected_role), C(warning_percent) and C(critical_percent)
        (of C(maxmemory)).
      - C(hpa) and C(nodes) take none. C(logs) takes C(error_threshold) and C(since_hours). C(resources) takes
        C(cpu_percent) and C(memory_percent).
      - C(backups) takes C(dest), C(s3), C(s3_prefix), C(database) and C(max_age_hours). C(kafka) takes
        C(bootstrap_servers), C(lag_warning) and C(lag_critical).
      - C(volumes) takes C(objective) (the name of the volume threshold objective), C(prometheus_url), C(database),
        C(pvc), C(warning_percent) and C(critical_percent). C(redis_cache) takes C(hit_rate_percent), C(min_lookups)
        and C(max_evictions). C(model) takes C(names), C(breach_status) and C(prometheus_url).
      - The role's variables of the same meaning are documented in the C(sre.runbooks.health_check) role.
    type: dict
    default: {}
  fail_on:
    description: The lowest status that makes C(health_check_result.failed) true (C(never) for none).
    type: str
    choices: [warning, critical, never]
    default: critical
  environment:
    description: The environment's name, shown in the reports.
    type: str
    default: ""
  started_at:
    description: When the reads started (UTC, C(YYYY-MM-DDTHH:MM:SSZ)); the task's own start when not given.
    type: str
  dest:
    description: Directory on the controller for the reports; created (with O(directory_mode)) when missing.
    type: path
    required: true
  name:
    description: Base name of the three reports, without a directory part.
    type: str
    required: true
  markdown_template:
    description:
      - The Markdown report's Jinja template, looked up in the role's and the playbook's C(templates) directories.
      - Rendered by plain Jinja (C(trim_blocks), trailing newlines kept) over one variable, C(health_check_result),
        with Jinja's own filters and tests only.
    type: str
    default: report.md.j2
notes:
  - Bad options, a setting a check lacks or does not take, a missing or broken template, a bad mode or a destination
    that cannot be written fail the task in one sentence before any report is written.
seealso:
  - module: sre.runbooks.health_check_info
  - module: sre.runbooks.report_files
"""

EXAMPLES = r"""
---
- name: H1-H5 - Read the cluster, PostgreSQL and Redis
  sre.runbooks.health_check_info:
    kubernetes:
      namespaces: [ai-pipeline, microservices]
    postgres:
      host: db.internal
      user: monitor
      password: "{{ vault_pg_monitor_password }}"
    redis:
      host: cache.internal
  register: health_read

- name: H10 - Judge the checks and write the reports
  sre.runbooks.health_check_report:
    reads: "{{ health_read }}"
    checks: [pods, hpa, postgres, redis]
    fail_on: warning
    dest: /srv/reports/production
    name: health_check-production
    settings:
      pods: {restart_threshold: 5}
      hpa: {}
      postgres: {host: db.internal, port: 5432, database: postgres, warning_percent: 80, critical_percent: 95}
      redis: {host: cache.internal, port: 6379, expected_role: master, warning_percent: 80, critical_percent: 95}
  register: health_report

- name: H10 - Fail on the verdict
  ansible.builtin.assert:
    that: not health_report.health_check_result.failed
    fail_msg: "Failing checks: {{ health_report.health_check_result.failing_checks | join(', ') }}"
"""

RETURN = r"""
health_check_result:
  description: The run's verdict, its facts, every judged check and the paths of the three reports (the JSON report's text).
  returned: always
  type: dict
  contains:
    status:
      description: The worst status of the checks (C(unavailable) ranks with C(ok)).
      type: str
      sample: warning
    failed:
      description: Whether a check reached O(fail_on).
      type: bool
    failing_checks:
      description: The ids of the checks that reached O(fail_on).
      type: list
      elements: str
      sample: [H9]
    counts:
      description: How many checks have each status.
      type: dict
      sample: {ok: 10, warning: 3, critical: 1, unavailable: 0}
    checks:
      description: One entry per judged check (C(id), C(check), C(title), C(status), C(summary), C(details)), in runbook-row order.
      type: list
      elements: dict
    environment:
      description: O(environment).
      type: str
    host:
      description: The host the task ran for.
      type: str
    started_at:
      description: O(started_at), or when the task started.
      type: str
    finished_at:
      description: When the checks were judged (UTC).
      type: str
    check_mode:
      description: Whether the run was in check mode.
      type: bool
    fail_on:
      description: O(fail_on).
      type: str
    reports:
      description: The paths of the reports, under the keys C(json), C(markdown) and C(html).
      type: dict
  sample:
    status: critical
    failed: true
    failing_checks: [H9]
    counts: {ok: 12, warning: 1, critical: 1, unavailable: 0}
    environment: production
    host: platform-cluster
    fail_on: critical
    reports:
      json: /srv/reports/production/health_check-production.json
      markdown: /srv/reports/production/health_check-production.md
      html: /srv/reports/production/health_check-production.html
files:
  description: The paths of the three reports.
  returned: always
  type: list
  elements: str
  sample: [/srv/reports/production/health_check-production.json]
written:
  description: The reports whose text changed and were written.
  returned: always
  type: list
  elements: str
  sample: [/srv/reports/production/health_check-production.json]
"""
