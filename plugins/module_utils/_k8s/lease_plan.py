# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The run lock's decisions (k8s_lock): what to do with a coordination.k8s.io Lease. Pure functions.

A run holds the lock of a target while its Lease names it as ``holderIdentity`` and
``renewTime + leaseDurationSeconds`` lies in the future. Another holder's unexpired Lease refuses
the run, naming who holds it since when; an expired one (its run died without releasing) is taken
over, and ``leaseTransitions`` counts the takeovers. Releasing deletes the Lease, and only its own
holder may (``force`` lets an operator clear a lock whose run is known to be gone).
"""

from __future__ import annotations

import datetime

STATES = ("held", "released")
MANAGED_BY = "sre.runbooks"
_MICRO = "%Y-%m-%dT%H:%M:%S.%fZ"


class LeaseRefused(Exception):
    """The lock is another run's; the text is one sentence naming the holder."""


def micro_time(moment):
    """A Kubernetes MicroTime (RFC 3339 with microseconds, UTC) of an aware datetime."""
    return moment.astimezone(datetime.timezone.utc).strftime(_MICRO)


def parse_time(value):
    """An aware datetime of a Kubernetes MicroTime or Time; None for anything else."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def describe(lease):
    """The facts of a Lease: holder, acquired/renewed times, duration and expiry (None when absent)."""
    if not lease:
        return None
    spec = lease.get("spec") or {}
    meta = lease.get("metadata") or {}
    acquired = parse_time(spec.get("acquireTime"))
    renewed = parse_time(spec.get("renewTime")) or acquired
    duration = spec.get("leaseDurationSeconds")
    expires = renewed + datetime.timedelta(seconds=duration) if renewed and isinstance(duration, int) else None
    return {"name": meta.get("name"), "namespace": meta.get("namespace"), "holder": spec.get("holderIdentity") or "",
            "acquired_at": spec.get("acquireTime"), "renewed_at": spec.get("renewTime"), "duration": duration,
            "expires_at": micro_time(expires) if expires else None, "transitions": spec.get("leaseTransitions") or 0,
            "resource_version": meta.get("resourceVersion")}


def expired(facts, now):
    """Whether the holder of a Lease no longer counts: no holder, no expiry, or the expiry passed."""
    if not facts["holder"] or not facts["expires_at"]:
        return True
    return parse_time(facts["expires_at"]) <= now


def lease_body(name, namespace, holder, duration, now, transitions=0, purpose=None, resource_version=None):
    """The Lease that names ``holder`` from ``now`` for ``duration`` seconds."""
    metadata = {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": MANAGED_BY}}
    if purpose:
        metadata["annotations"] = {"sre.runbooks/purpose": purpose}
    if resource_version:
        # The write succeeds only if nobody changed the Lease since it was read (409 otherwise).
        metadata["resourceVersion"] = resource_version
    stamp = micro_time(now)
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata,
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration, "acquireTime": stamp,
                     "renewTime": stamp, "leaseTransitions": transitions}}


def refusal(facts, now):
    """The sentence of a lock held by another run."""
    since = facts["acquired_at"] or "an unknown time"
    left = (parse_time(facts["expires_at"]) - now).total_seconds() if facts["expires_at"] else 0
    return (f"The lock {facts['namespace']}/{facts['name']} is held by {facts['holder']} since {since} "
            f"(it expires in {int(left)} s unless renewed): another run is changing this target; wait for it "
            "to end, or release the lock with state=released and force=true once that run is known to be gone.")


def decide(lease, holder, state, now, force=False, renew=False):
    """``(action, facts)``: what to do with the Lease found (None when absent).

    Actions: ``create``, ``take_over`` (another holder's lease expired, or force), ``renew`` (ours,
    with ``renew``), ``keep`` (ours already), ``delete`` (release ours, or another's with force),
    ``none`` (nothing to release). Raises LeaseRefused for another run's unexpired lock.
    """
    facts = describe(lease)
    if state == "released":
        if facts is None:
            return "none", None
        if facts["holder"] in (holder, "") or force or expired(facts, now):
            return "delete", facts
        raise LeaseRefused(f"The lock {facts['namespace']}/{facts['name']} is held by {facts['holder']}, not by "
                           f"{holder}; it was not released (force=true releases another run's lock).")
    if facts is None:
        return "create", None
    if facts["holder"] == holder and not expired(facts, now):
        return ("renew" if renew else "keep"), facts
    if facts["holder"] == holder or expired(facts, now) or force:
        return "take_over", facts
    raise LeaseRefused(refusal(facts, now))
