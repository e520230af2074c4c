"""A cron expression in words, for the schedules page and `schedule show`: "every day at 03:00".

The common shapes are said in words (every N minutes, hourly, daily, on weekdays, on
a day of the month); anything else is said as its fields ("minute 5, hour 1-3, ..."),
never guessed. Six fields (leading seconds) name the seconds too.
"""

WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTHS = ("", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip
NAMES = {name[:3].lower(): str(number) for number, name in enumerate(WEEKDAYS)} | {
    name[:3].lower(): str(number) for number, name in enumerate(MONTHS) if name
}


def cron_words(cron: str) -> str:
    """`cron` (5 fields, or 6 with leading seconds) in words."""
    fields = cron.split()
    seconds = fields.pop(0) if len(fields) == 6 else None
    if len(fields) != 5:
        return f"by the cron expression '{cron}'"
    minute, hour, day, month, weekday = (_named(field) for field in fields)
    when = _time_of_day(minute, hour)
    if when is None:
        return _fields_said(cron, seconds, minute, hour, day, month, weekday)
    days = _days(day, month, weekday)
    said = when + ("" if when.startswith("every") and days == " every day" else days)
    if seconds in (None, "0"):
        return said
    if said == "every minute":
        return _seconds(seconds).removesuffix(", ")
    return f"{_seconds(seconds)}{said}"


def _time_of_day(minute: str, hour: str) -> str | None:
    if minute == "*" and hour == "*":
        return "every minute"
    if minute.startswith("*/") and hour == "*":
        return f"every {minute[2:]} minutes"
    if minute.isdigit() and hour == "*":
        return f"every hour at minute {int(minute)}"
    if minute.isdigit() and hour.startswith("*/"):
        return f"every {hour[2:]} hours at minute {int(minute)}"
    if minute.isdigit() and all(part.isdigit() for part in hour.split(",")):
        times = [f"{int(part):02d}:{int(minute):02d}" for part in hour.split(",")]
        return "at " + _listed(times)
    return None


def _days(day: str, month: str, weekday: str) -> str:
    if weekday == "1-5" and day == "*":
        return " on weekdays (Monday to Friday)" + _months(month)
    if weekday != "*" and day == "*":
        return " on " + _listed([_weekday(part) for part in weekday.split(",")]) + _months(month)
    if day != "*" and weekday == "*":
        return f" on day {day} of {_months(month).removeprefix(' in ') or 'every month'}"
    if day == "*" and weekday == "*":
        return (" every day" if month == "*" else "") + _months(month)
    return f" on day {day} or on {weekday} (weekday)" + _months(month)


def _weekday(part: str) -> str:
    if "-" in part:
        first, _, last = part.partition("-")
        return f"{_weekday(first)} to {_weekday(last)}"
    return WEEKDAYS[int(part) % 7] if part.isdigit() else part


def _months(month: str) -> str:
    if month == "*":
        return ""
    names = [MONTHS[int(part)] if part.isdigit() and 1 <= int(part) <= 12 else part for part in month.split(",")]
    return " in " + _listed(names)


def _seconds(seconds: str | None) -> str:
    if seconds is None or seconds == "*":
        return "every second, " if seconds == "*" else ""
    if seconds.startswith("*/"):
        return f"every {seconds[2:]} seconds, "
    return f"at second {seconds}, "


def _fields_said(cron: str, seconds: str | None, *fields: str) -> str:
    names = ("minute", "hour", "day of month", "month", "weekday")
    parts = [f"{name} {value}" for name, value in zip(names, fields, strict=True) if value != "*"]
    if seconds is not None:
        parts.insert(0, f"second {seconds}")
    return f"when {', '.join(parts)} ('{cron}')" if parts else f"every minute ('{cron}')"


def _named(field: str) -> str:
    """A field with weekday and month names (mon, jan) as numbers."""
    for name, number in NAMES.items():
        field = field.lower().replace(name, number)
    return field


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
