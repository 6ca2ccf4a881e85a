"""Pure 1+4+1 rules: ISBNs, book identity, pace, check-in codes. No Flask here, so they are unit-tested directly."""
import hashlib
import hmac
import re
import unicodedata
from datetime import date

import segno

ITEMS = ("talks", "attends", "books")


# --- books -------------------------------------------------------------------------------------

def normalise_isbn(raw):
    """Return the ISBN-13 of a valid ISBN-10/13 (hyphens and spaces allowed), or None if its check digit fails."""
    text = re.sub(r"[\s\-]", "", raw or "").upper()
    if re.fullmatch(r"\d{9}[\dX]", text):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(text))
        if total % 11:
            return None
        body = "978" + text[:9]
        return body + _isbn13_check(body)
    if re.fullmatch(r"97[89]\d{10}", text):
        return text if _isbn13_check(text[:12]) == text[12] else None
    return None


def _isbn13_check(first12):
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(first12))
    return str((10 - total % 10) % 10)


def _fold(text):
    # Full-width letters, case, spaces and punctuation differ between two people typing the same title.
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return re.sub(r"[\s\W_]+", "", text)


def book_key(title, author, isbn13=None):
    """The identity that makes "the same book twice in a year counts once": the ISBN, else title + author."""
    if isbn13:
        return "isbn:" + isbn13
    return f"ta:{_fold(title)}|{_fold(author)}"[:320]


def reflection_length(text):
    """Count a reflection's characters the way a reader would: whitespace does not count."""
    return len(re.sub(r"\s", "", text or ""))


# --- pace --------------------------------------------------------------------------------------

def months_elapsed(year, day):
    """Whole months of `year` completed by the end of local day `day` (0..12)."""
    if day.year < year:
        return 0
    if day.year > year:
        return 12
    # The last day of a month completes it: on 30 September, September is done.
    following = date.fromordinal(day.toordinal() + 1)
    return following.month - 1 if following.year == year else 12


def expected_by(quota, months):
    """How many of `quota` should be done after `months` whole months: quota × months / 12, rounded half up.

    With 4 exchanges: 1 by end of February, 2 by end of May, 3 by end of August (so also September), 4 by the
    end of the year. With 1 talk or 1 book: due by the end of June.
    """
    return (2 * quota * months + 12) // 24


def pace(counts, policy, year, day):
    """Return per-item {done, quota, expected, on_track} and the overall verdict for a member at `day`."""
    months = months_elapsed(year, day)
    items = {}
    for item in ITEMS:
        quota = policy[item]
        expected = min(expected_by(quota, months), quota)
        done = counts.get(item, 0)
        items[item] = {"done": done, "quota": quota, "expected": expected, "on_track": done >= expected}
    complete = all(v["done"] >= v["quota"] for v in items.values())
    on_track = all(v["on_track"] for v in items.values())
    return {"items": items, "complete": complete, "status": "complete" if complete else
            ("on_track" if on_track else "behind"), "months_elapsed": months}


# --- check-in codes ------------------------------------------------------------------------------

def checkin_code(secret, exchange_id, salt):
    """The 6-digit code of an exchange, derived (never stored) from the app secret and the exchange's salt."""
    digest = hmac.new(secret.encode(), f"checkin:{exchange_id}:{salt}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def code_matches(expected, given):
    """Compare a typed code with the real one in constant time."""
    given = re.sub(r"\s", "", given or "")
    return hmac.compare_digest(expected.encode(), given.encode())


def qr_payload(exchange_id, code):
    """What the QR code holds: the mini-program scans it and posts the code to the exchange's check-in."""
    return f"bs-checkin:{exchange_id}:{code}"


def qr_image(payload):
    """The QR of a payload as a PNG data URI, drawn here so a phone can show it full screen with no QR library."""
    return segno.make(payload, error="m").png_data_uri(scale=10, border=2)
