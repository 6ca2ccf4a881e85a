"""A member's open reading of an item, kept in Redis from its open, so that their finish writes without reading the
row first (one statement alone instead of a read and a write).

What is kept — the row's id, its day and when it was opened — never changes once the row is written, so it needs
no counter: the entry lives for ENTRY_SECONDS. It is only ever a hint. The finish's write names the row by its id,
member and item, and applies only while the reading is not completed; when it matches nothing (completed, or a
row gone and written again under a new id) the finish reads the row as before. No entry (Redis down or flushed, an
entry expired, the open's store lost) means the same read; that read stores the entry again.
"""
from datetime import date, datetime
from typing import NamedTuple

from flask import request

from core import fresh
from core.cache import key
from members.auth import NOT_PREFETCHED, prefetched_call

ENTRY_SECONDS = 2 * 86400  # today's item and yesterday's: a finish comes within minutes of its open

_RECALL = "return redis.call('GET', KEYS[1])"
_REMEMBER = "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1"
_FORGET = "return redis.call('DEL', KEYS[1])"


class Opened(NamedTuple):
    id: int
    day: date
    opened_at: datetime


def _key(member_id, material_id):
    return key("learning", "opened", member_id, material_id)


def remember(member_id, material_id, reading):
    """Keep a reading's (id, day, opened_at) for its member's finish: sent with the request's bumps, once it has
    answered (core.fresh.call_after); a lost store only costs the finish its read."""
    value = f"{reading.id}|{reading.day.isoformat()}|{reading.opened_at.isoformat()}"
    fresh.call_after(_REMEMBER, [_key(member_id, material_id)], [value, ENTRY_SECONDS], lambda error: None)


def forget(member_id, material_id):
    """Drop the entry of a reading that is completed: its finishes have nothing left to write."""
    fresh.call_after(_FORGET, [_key(member_id, material_id)], [], lambda error: None)


def prefetch_call(member_id):
    """The entry's read, for a finish to run with the session (members.auth.login_required(prefetch=...)): the item
    is the request's `material_id`."""
    return _RECALL, [_key(member_id, request.view_args["material_id"])], []


def recall(member_id, material_id):
    """The reading kept for this member and item, as read with the session: an Opened, or None (not read, not kept,
    or Redis failed)."""
    value = prefetched_call(_RECALL, [_key(member_id, material_id)], [])
    if value is NOT_PREFETCHED or not isinstance(value, str):
        return None
    reading_id, day, opened_at = value.split("|")
    return Opened(int(reading_id), date.fromisoformat(day), datetime.fromisoformat(opened_at))
