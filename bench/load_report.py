"""The tables bench/load.py prints: pages, faults, memory, invariants; and its verdict."""

from __future__ import annotations

import os
from pathlib import Path

from bench.load_checks import Check
from bench.load_faults import FaultRun
from bench.load_traffic import Sample, Site
from bench.web import percentile

# After a fault ends, requests within this many seconds still count as hit by it: the
# recovery check itself takes a moment to notice the site is back.
FAULT_GRACE_SECONDS = 2.0


def _is_error(status: int) -> bool:
    """No response or a server error; a 503 is the site saying clearly that a part is down."""
    return status == 0 or (status >= 500 and status != 503)


def _is_failure(sample: Sample) -> bool:
    return _is_error(sample.status) or sample.status == 503


def _fault_of(sample: Sample, faults: list[FaultRun]) -> FaultRun | None:
    """The fault a request overlapped, from its start to its answer (the latest, where one's
    grace overlaps the next)."""
    hit = None
    for fault in faults:
        end = (fault.recovered or fault.ended) + FAULT_GRACE_SECONDS
        if fault.started <= sample.at + sample.seconds and sample.at <= end:
            hit = fault
    return hit


def _acceptable(sample: Sample, faults: list[FaultRun]) -> bool:
    """A 503 while some part is down (it says so), or a failure of a request already in flight
    when a fault that tolerates it struck (one that began after the fault must succeed)."""
    fault = _fault_of(sample, faults)
    if fault is None:
        return False
    if sample.status == 503:
        return True
    return fault.tolerates_errors and sample.at <= fault.ended


def report(
    site: Site,
    *,
    faults: list[FaultRun],
    checks: list[Check],
    started: float,
    traffic_seconds: float,
    settle_seconds: float,
    rss_start: dict[str, int],
    rss_end: dict[str, int],
    restarted: set[str],
    log_dir: Path,
) -> bool:
    """Print every table; True if the run passes."""
    pages = site.recorder.by_page()
    total = sum(len(samples) for samples in pages.values())
    print(
        f"\n{total} requests in {traffic_seconds:.0f} s ({total / traffic_seconds:.1f} req/s), "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end"
    )
    header = (
        f"{'page':<28} {'requests':>8} {'errors':>6} {'503':>4} {'4xx':>5} {'429':>4} "
        f"{'p50 ms':>8} {'p99 ms':>8}"
    )
    print(header)
    print("-" * len(header))
    stray_errors = []
    for page, samples in pages.items():
        ok = [s.seconds for s in samples if 200 <= s.status < 400]
        errors = sum(1 for s in samples if _is_error(s.status))
        unavailable = sum(1 for s in samples if s.status == 503)
        refused = sum(1 for s in samples if 400 <= s.status < 500 and s.status != 429)
        throttled = sum(1 for s in samples if s.status == 429)
        for sample in samples:
            if _is_failure(sample) and not _acceptable(sample, faults):
                stray_errors.append((sample, _fault_of(sample, faults)))
        print(
            f"{page:<28} {len(samples):>8} {errors:>6} {unavailable:>4} {refused:>5} {throttled:>4} "
            f"{percentile(ok, 0.5) * 1000:>8.1f} {percentile(ok, 0.99) * 1000:>8.1f}"
        )

    print(
        f"\n{'fault':<36} {'at s':>6} {'lasted s':>8} {'back after s':>12} {'errors':>6} {'503':>4}"
    )
    for fault in faults:
        hit = [s for samples in pages.values() for s in samples if _fault_of(s, faults) is fault]
        errors = sum(1 for s in hit if _is_error(s.status))
        unavailable = sum(1 for s in hit if s.status == 503)
        back = f"{fault.recovered - fault.ended:.1f}" if fault.recovered else "never"
        print(
            f"{fault.name:<36} {fault.started - started:>6.0f} "
            f"{fault.ended - fault.started:>8.1f} {back:>12} {errors:>6} {unavailable:>4}"
        )
        print(f"    {fault.detail}")

    print(f"\n{'process (RSS, tree)':<20} {'start MiB':>10} {'end MiB':>10} {'drift':>7}")
    for name, before in rss_start.items():
        after = rss_end.get(name, 0)
        drift = f"{(after - before) / before * 100:+.0f} %" if before else "n/a"
        note = " (killed and restarted during the run)" if name in restarted else ""
        print(f"{name:<20} {before / 2**20:>10.0f} {after / 2**20:>10.0f} {drift:>7}{note}")

    print(f"\ninvariants (checked in the database after {settle_seconds:.0f} s of settling)")
    for check in checks:
        print(f"  {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.value}")
    unrecovered = [f.name for f in faults if f.recovered is None]
    if unrecovered:
        print(f"  FAIL the site did not recover after: {', '.join(unrecovered)}")
    missed = [f.name for f in faults if not f.injected]
    if missed:
        print(f"  FAIL faults not injected: {', '.join(missed)}")
    print(
        f"  {'FAIL' if stray_errors else 'ok  '} failed requests a fault does not excuse: "
        f"{len(stray_errors)}"
    )
    if stray_errors:
        for sample, fault in stray_errors[:10]:
            where = f"during {fault.name}" if fault else "outside any fault"
            print(f"       {sample.page}: status {sample.status} at "
                  f"{sample.at - started:.1f} s ({where})")  # fmt: skip
    print(f"  logs: {log_dir}")
    return all(c.ok for c in checks) and not (unrecovered or missed or stray_errors)
