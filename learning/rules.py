"""Pure rules of reading: how long an item must be read, what time is credited, points for minutes, streaks."""
from datetime import timedelta


def required_seconds(estimated_minutes, min_seconds, seconds_per_minute):
    """Seconds between open and finish an item needs to count as studied."""
    return max(min_seconds, estimated_minutes * seconds_per_minute)


def credited_seconds(server_seconds, client_seconds, estimated_minutes):
    """Study time to credit: the server's measure, lowered by the client's if it reports less.

    The client's figure can only lower the credit, never raise it; and an item left open all day earns at
    most twice its estimated length.
    """
    credit = max(0, int(server_seconds))
    if client_seconds is not None:
        credit = min(credit, max(0, int(client_seconds)))
    return min(credit, estimated_minutes * 60 * 2)


def minute_points(seconds, per_minutes, points):
    """Points for study time: `points` for every whole `per_minutes` minutes."""
    return (seconds // 60 // per_minutes) * points


def streak(today, totals, done_on_day):
    """Consecutive days, back from today, on which every item of the day was studied on that day.

    totals and done_on_day map local dates to counts. Days without material neither count nor break the
    streak; today counts once it is complete and does not break the streak while it is still open.
    """
    if not totals:
        return 0
    count, day, first = 0, today, min(totals)
    while day >= first:
        total = totals.get(day, 0)
        if total:
            if done_on_day.get(day, 0) >= total:
                count += 1
            elif day != today:
                break
        day -= timedelta(days=1)
    return count
