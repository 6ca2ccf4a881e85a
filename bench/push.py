"""The push benchmark's rules, as pure functions: how long the push may run, how long its senders get to stop,
and whether the outbox and the fake WeChat agree that every message went out at most once and none was lost.

The push's target is a rate ratio (messages/s ÷ the constant-JSON baseline's req/s, both measured in the same
run), so a fixed number of seconds would cut a correct push on a slower machine before it proves anything. The
budget is sized from the baseline instead: the push runs to completion unless it is slower than a fifth of the
target ratio (or stops making progress), and a push cut that way has missed its target by far.
"""
import math
from collections import Counter

TARGET_RATIO = 0.25  # issue #19: the 100,000-member push, messages/s ≥ 0.25 × the baseline's req/s
BUDGET_RATIO = TARGET_RATIO / 5  # the budget lets a push five times slower than its target still finish
MIN_BUDGET_S = 300  # never less than the fixed budget of old (a fast machine keeps at least that)
STALL_S = 180  # no new message for this long: the push is stuck, cut it whatever the budget says
MIN_GRACE_S, MAX_GRACE_S = 15, 120  # a graceful stop's bounds

# Outbox states at the cut. A `calling` row was committed just before its WeChat call and its outcome is not
# written yet (an `unconfirmed` one is such a row whose lease ran out): the fake received it once or not at
# all. A `pending` or `sending` row was never called (a claim spends no consent; the call comes after the
# `calling` commit), so its member must not have the message yet.
SENT = "sent"
IN_FLIGHT = ("calling", "unconfirmed")
QUEUED = ("pending", "sending")


def push_budget(expected, baseline_rps, fixed=None):
    """Seconds from the trigger the push may take: `fixed` if given (--push-timeout), else the time a push at
    BUDGET_RATIO × the baseline's req/s needs for `expected` messages, and at least MIN_BUDGET_S."""
    if fixed:
        return fixed
    if not baseline_rps or baseline_rps <= 0:
        return MIN_BUDGET_S
    return max(MIN_BUDGET_S, math.ceil(expected / (BUDGET_RATIO * baseline_rps)))


def cut_reason(delivered, expected, elapsed, since_progress, budget):
    """Why the push stops being waited for now: 'finished', 'budget', 'stalled', or None to keep waiting."""
    if delivered >= expected:
        return "finished"
    if elapsed >= budget:
        return "budget"
    if since_progress >= STALL_S:
        return "stalled"
    return None


def stop_grace(rate, senders, batch):
    """Seconds the senders get to finish the batch in hand after SIGTERM before they are killed: three batches
    at one sender's share of the measured rate, within MIN_GRACE_S..MAX_GRACE_S."""
    if not rate or rate <= 0:
        return MAX_GRACE_S
    return min(MAX_GRACE_S, max(MIN_GRACE_S, math.ceil(3 * batch * senders / rate)))


def push_accounting(received, outbox, expected, consents_spent):
    """Compare, recipient by recipient, what the fake received with what the outbox says; return the figures
    and the problems found (none for a correct run, finished or cut).

    received: the openid of each message the fake received (one entry per message).
    outbox: (status, openid) of each outbox row of the push.
    consents_spent: consents taken from the outbox's ledger since the load.

    Only a double delivery or a lost message is a problem: a `sent` row's member received it exactly once, an
    in-flight row's member at most once, a queued row's member not yet, nobody twice, nobody without a row.
    """
    got = Counter(received)
    statuses = Counter(status for status, _ in outbox)
    rows_of = Counter(openid for _, openid in outbox)
    problems = []
    twice = sum(1 for n in got.values() if n > 1)
    if twice:
        problems.append(f"{twice} recipients received the message more than once")
    if len(outbox) != expected or any(n > 1 for n in rows_of.values()):
        problems.append(f"{len(outbox)} outbox rows for {len(rows_of)} recipients, expected {expected} (one each)")
    strays = sum(1 for openid in got if openid not in rows_of)
    if strays:
        problems.append(f"{strays} recipients received a message with no outbox row")
    lost = sum(1 for status, openid in outbox if status == SENT and got[openid] == 0)
    if lost:
        problems.append(f"{lost} rows marked sent were never received")
    early = sum(1 for status, openid in outbox if status in QUEUED and got[openid])
    if early:
        problems.append(f"{early} rows still queued were already received (a second send would follow)")
    other = {s: n for s, n in statuses.items() if s != SENT and s not in IN_FLIGHT and s not in QUEUED}
    if other:
        problems.append(f"rows neither sent, in flight nor queued: {other}")
    in_flight = sum(statuses[s] for s in IN_FLIGHT)
    if consents_spent != statuses[SENT] + in_flight:
        problems.append(f"{consents_spent} consents spent for {statuses[SENT]} sent + {in_flight} in flight")
    in_flight_received = sum(1 for status, openid in outbox if status in IN_FLIGHT and got[openid])
    return {"received": len(received), "distinct": len(got), "statuses": dict(statuses), "in_flight": in_flight,
            "in_flight_received": in_flight_received, "queued": sum(statuses[s] for s in QUEUED),
            "problems": problems}
