"""CallEvent v1 and the CallKeeper mapping, ported from CallFeed's Swift to plain Python.

The Python webhook receiver (receiver.py) must do the same work per request as CallFeed's
`POST /webhooks/callkeeper`, or the benchmark compares different jobs. This module is that work,
standard library only:

- ``callkeeper_content``: ``CallKeeperMapping.content(from:context:)``
  (Sources/CallFeedVendors/CallKeeperMapping*.swift): Webhookcall bodies and v3 API call records,
  rejecting the calltracking webhook, error envelopes and bodies without a call id with the same
  reasons;
- ``normalize_phone``: ``PhoneNumber.normalize`` with the same dialing-plan table (DialingPlan.swift);
- ``wall_clock_ms`` / ``parse_iso8601_ms`` / ``rfc3339``: WallClock.swift and Timestamp.swift
  (integer civil-time arithmetic, milliseconds, RFC 3339 in UTC);
- ``event_id`` / ``revision`` / ``event_json``: EventIdentity.swift and CallEvent+Bytes.swift: the
  UUID v5 in CallFeed's namespace, the SHA-256 of the content's canonical JSON, and the published
  bytes (sorted keys, no whitespace, ``/`` unescaped, absent values omitted).

A content is a plain dict shaped like the CallEvent JSON (docs/call-event.md) whose absent values
are ``None``; times are integer milliseconds until ``event_json`` writes them as RFC 3339.

check_receiver.py checks it against the values CallFeed's tests state and against the event_id and
revision CallFeed's release build gave for the sample webhook. Known differences, all on inputs no
vendor sends: the 400 text for a body that is not JSON is Python's json message (both start with
"invalid JSON: "); a non-integral number where text is expected (``"id": 1.5``) is printed by
Python's ``repr``, which may format some magnitudes unlike Swift's ``description`` (``1e+20``
agrees); object keys are not compared under Unicode canonical equivalence as Swift's dictionary
keys are (tags are: they are de-duplicated and sorted by NFC form, as Swift's ``String`` does).
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "MappingContext", "MappingError", "ParseError", "parse_body", "callkeeper_content", "event_id",
    "revision", "event_json", "map_webhook", "normalize_phone", "parse_iso8601_ms", "rfc3339",
]

CALLKEEPER = "callkeeper"
SCHEMA_VERSION = "1"
#: Namespace of CallFeed's version-5 UUIDs (EventIdentity.namespace).
EVENT_NAMESPACE = uuid.UUID("3d8f5c6e-1a4b-5e27-9c0d-612e7a449013")
#: The last second of year 9999: vendor epochs and ends beyond it are not taken.
LATEST_MAPPED_SECOND = 253_402_300_799
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Nesting CallFeed's JSON parser accepts (JSONParser.maximumDepth).
MAXIMUM_DEPTH = 512

# Foundation's `.whitespacesAndNewlines` (Unicode Z* plus U+0009–U+000D and U+0085) and
# `.whitespaces` (Zs plus tab). Python's str.strip() would also strip U+001C–U+001F.
_WHITESPACE_AND_NEWLINES = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                            "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_WHITESPACES = "\t \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"


class MappingError(ValueError):
    """A payload that is not a call, or carries a value CallFeed refuses to guess about (400)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ParseError(ValueError):
    """A body that is not strict RFC 8259 JSON in UTF-8 (400)."""

    def __init__(self, reason: str):
        super().__init__(f"invalid JSON: {reason}")
        self.reason = f"invalid JSON: {reason}"


class MappingContext:
    """What the mapper knows about the tenant (MappingContext.swift): account, zone, country."""

    __slots__ = ("account_id", "time_zone", "default_country", "zone")

    def __init__(self, account_id: str, time_zone: str = "UTC", default_country: str = "RU"):
        self.account_id = account_id
        self.time_zone = time_zone
        self.default_country = default_country
        try:
            self.zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = None  # reported per payload, as CallFeed's WallClock does


# MARK: - JSON


def _reject_constant(name: str):
    raise ParseError(f"{name} is not JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        raise ParseError(f"number {literal} is out of range")
    return value


def _int(literal: str) -> int:
    value = int(literal)
    if len(literal) > 300 and not INT64_MIN <= value <= INT64_MAX:
        _finite_float(literal)  # Swift reads it as a double: beyond ~1.8e308 it is out of range
    return value


def _depth_ok(value) -> bool:
    """Whether no array or object in ``value`` is nested deeper than MAXIMUM_DEPTH (iteratively)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAXIMUM_DEPTH:
            return False
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def parse_body(body: bytes):
    """The JSON value of a request body, as strictly as CallFeed's JSONParser reads it.

    UTF-8 only (Python's json would guess UTF-16/32), no NaN/Infinity, no unpaired surrogate escapes,
    at most 512 levels of nesting.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParseError(f"invalid UTF-8 at byte {error.start}") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_int)
    except json.JSONDecodeError as error:
        raise ParseError(f"{error.msg} at byte {len(text[:error.pos].encode('utf-8'))}") from None
    except RecursionError:
        raise ParseError(f"nesting deeper than {MAXIMUM_DEPTH} levels") from None
    except ParseError:
        raise
    except ValueError as error:  # e.g. an integer literal past Python's digit limit
        raise ParseError(str(error)) from None
    if "\\u" in text:  # only an escape can smuggle in an unpaired surrogate
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError("unpaired surrogate in a \\u escape") from None
    if isinstance(value, (dict, list)) and text.count("[") + text.count("{") > MAXIMUM_DEPTH \
            and not _depth_ok(value):
        raise ParseError(f"nesting deeper than {MAXIMUM_DEPTH} levels")
    return value


def _double_text(d: float) -> str:
    if d.is_integer() and abs(d) < 1e15:
        return str(int(d))
    return repr(d)


def text(value) -> str | None:
    """JSONValue.text: strings trimmed (blank is None), numbers and booleans printed."""
    if isinstance(value, str):
        if value and value[0] not in _WHITESPACE_AND_NEWLINES and value[-1] not in _WHITESPACE_AND_NEWLINES:
            return value
        trimmed = value.strip(_WHITESPACE_AND_NEWLINES)
        return trimmed or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        # Swift reads integers beyond Int64 as doubles.
        return str(value) if INT64_MIN <= value <= INT64_MAX else _double_text(float(value))
    if isinstance(value, float):
        return _double_text(value)
    return None


_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_HEXADECIMAL = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?", re.ASCII)


def _exact_int64(d: float) -> int | None:
    if d != d or d in (float("inf"), float("-inf")) or not d.is_integer():
        return None
    i = int(d)
    return i if INT64_MIN <= i <= INT64_MAX else None


def integer(value) -> int | None:
    """JSONValue.integer: integral numbers and numeric strings (`"125"`, `"125.0"`)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if INT64_MIN <= value <= INT64_MAX else None
    if isinstance(value, float):
        return _exact_int64(value)
    if isinstance(value, str):
        t = value.strip(_WHITESPACES)
        if _INTEGER.fullmatch(t):
            i = int(t)
            if INT64_MIN <= i <= INT64_MAX:
                return i
        if _DECIMAL.fullmatch(t):
            return _exact_int64(float(t))
        if _HEXADECIMAL.fullmatch(t):
            return _exact_int64(float.fromhex(t))
    return None


def boolean(value) -> bool | None:
    """JSONValue.boolean: JSON booleans, 0/1, and "true"/"false"/"yes"/"no"/"0"/"1"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {0: False, 1: True}.get(value)
    if isinstance(value, str):
        return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(value.lower())
    return None


def _member(obj, key):
    return obj.get(key) if isinstance(obj, dict) else None


def _string(obj, key) -> str | None:
    return text(obj.get(key)) if isinstance(obj, dict) else None


def _positive_integer(obj, key) -> int | None:
    value = integer(_member(obj, key))
    return value if value is not None and value > 0 else None


def _kind_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# MARK: - Time (Timestamp.swift, WallClock.swift)


def _is_leap(y: int) -> bool:
    return (y % 4 == 0 and y % 100 != 0) or y % 400 == 0


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    y = year - 1 if month <= 2 else year
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    z = days + 719_468
    era = (z if z >= 0 else z - 146_096) // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if m <= 2 else 0), m, d


def _civil_ms(year, month, day, hour, minute, second, millisecond, offset) -> int | None:
    if not (1 <= month <= 12 and 1 <= day <= _days_in(month, year) and 0 <= hour <= 23 and 0 <= minute <= 59
            and 0 <= second <= 60 and 0 <= millisecond <= 999 and abs(offset) < 86_400):
        return None
    seconds = _days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offset
    return seconds * 1000 + millisecond


def rfc3339(ms: int) -> str:
    """`2020-04-05T10:23:32Z`, or `…:32.250Z` when there are milliseconds (Timestamp.rfc3339)."""
    seconds, millisecond = divmod(ms, 1000)
    days, second_of_day = divmod(seconds, 86_400)
    y, m, d = _civil_from_days(days)
    hh, rest = divmod(second_of_day, 3600)
    mm, ss = divmod(rest, 60)
    year = str(y) if len(str(y)) >= 4 else "0" * (4 - len(str(y))) + str(y)  # Swift pads "-1" as "00-1"
    text_ = f"{year}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}"
    return text_ + (f".{millisecond:03d}Z" if millisecond else "Z")


def parse_iso8601_ms(text_: str, default_offset_seconds: int | None = None) -> int | None:
    """Timestamp.parseISO8601: `T`/space separator, optional fraction (kept to ms), `Z`/`±hh:mm`/`±hhmm`.

    Without an offset the text is in ``default_offset_seconds``; ``None`` when there is none.
    """
    b = text_.encode("utf-8", "surrogatepass")
    n = len(b)
    i = 0

    def number(width):
        nonlocal i
        if i + width > n:
            return None
        v = 0
        for k in range(i, i + width):
            if not 48 <= b[k] <= 57:
                return None
            v = v * 10 + b[k] - 48
        i += width
        return v

    def expect(c):
        nonlocal i
        if i < n and b[i] == c:
            i += 1
            return True
        return False

    year = number(4)
    if year is None or not expect(45):
        return None
    month = number(2)
    if month is None or not expect(45):
        return None
    day = number(2)
    if day is None:
        return None
    hour = minute = second = millisecond = 0
    if i < n and b[i] in (84, 116, 32):  # T, t, space
        i += 1
        h = number(2)
        if h is None or not expect(58):
            return None
        m = number(2)
        if m is None:
            return None
        hour, minute = h, m
        if expect(58):
            s = number(2)
            if s is None:
                return None
            second = s
            if expect(46):
                digits = value = 0
                while i < n and 48 <= b[i] <= 57:
                    if digits < 3:
                        value = value * 10 + b[i] - 48
                    digits += 1
                    i += 1
                if digits == 0:
                    return None
                millisecond = value * 100 if digits == 1 else (value * 10 if digits == 2 else value)
    elif i != n:
        return None
    while i < n and b[i] == 32:
        i += 1
    if i == n:
        if default_offset_seconds is None:
            return None
        offset = default_offset_seconds
    elif b[i] in (90, 122):  # Z, z
        i += 1
        offset = 0
    elif b[i] in (43, 45):  # +, -
        sign = -1 if b[i] == 45 else 1
        i += 1
        oh = number(2)
        if oh is None:
            return None
        expect(58)
        om = number(2)
        if om is None or oh > 23 or om > 59:
            return None
        offset = sign * (oh * 3600 + om * 60)
    else:
        return None
    if i != n:
        return None
    return _civil_ms(year, month, day, hour, minute, second, millisecond, offset)


_FIRST_INSTANT = int(datetime(1, 1, 2, tzinfo=timezone.utc).timestamp())
_LAST_INSTANT = int(datetime(9999, 12, 30, tzinfo=timezone.utc).timestamp())


def _offset_seconds(zone: ZoneInfo, instant: int) -> int:
    instant = min(max(instant, _FIRST_INSTANT), _LAST_INSTANT)
    return int(datetime.fromtimestamp(instant, zone).utcoffset().total_seconds())


def wall_clock_ms(text_: str | None, context: MappingContext, field: str) -> int | None:
    """WallClock.timestamp: a zone-less `YYYY-MM-DD HH:MM:SS` read in the context's IANA zone."""
    if not text_ or text_.startswith("0000-00-00"):
        return None
    if context.zone is None:
        raise MappingError(f'unknown time zone "{context.time_zone}" (context.timeZone; expected an IANA id '
                           'such as "UTC" or "Europe/Moscow")')
    as_utc = parse_iso8601_ms(text_, 0)
    if as_utc is None:
        raise MappingError(f'malformed date-time ({field}): "{text_}" is not YYYY-MM-DD HH:MM:SS')
    if parse_iso8601_ms(text_) is not None:
        return as_utc  # the text carries its own offset
    wall = as_utc // 1000
    first_guess = wall - _offset_seconds(context.zone, wall)
    offset = _offset_seconds(context.zone, first_guess)
    return as_utc - offset * 1000


def _end_ms(start_ms: int | None, seconds: int | None) -> int | None:
    """`started_at + seconds` when both are known and the end lies in 0…9999-12-31T23:59:59Z."""
    if start_ms is None or seconds is None:
        return None
    end = start_ms // 1000 + seconds
    if not 0 <= end <= LATEST_MAPPED_SECOND:
        return None
    return start_ms + seconds * 1000


# MARK: - Phone numbers (PhoneNumber.swift, DialingPlan.swift)


class _DialingPlan:
    __slots__ = ("countries", "calling_code", "lengths", "trunk_prefix", "bare_first_digits")

    def __init__(self, countries, calling_code, lengths, trunk_prefix, bare_first_digits):
        self.countries = countries
        self.calling_code = calling_code
        self.lengths = lengths
        self.trunk_prefix = trunk_prefix
        self.bare_first_digits = bare_first_digits

    def is_international(self, digits: str) -> bool:
        return digits.startswith(self.calling_code) and (len(digits) - len(self.calling_code)) in self.lengths

    def national_number(self, digits: str) -> str | None:
        if digits.startswith(self.trunk_prefix) and (len(digits) - len(self.trunk_prefix)) in self.lengths:
            return digits[len(self.trunk_prefix):]
        if digits and digits[0] in self.bare_first_digits and len(digits) in self.lengths:
            return digits
        return None


_PLANS = [
    _DialingPlan(("RU",), "7", range(10, 11), "8", "3489"),
    _DialingPlan(("KZ",), "7", range(10, 11), "8", "67"),
    _DialingPlan(("US", "CA"), "1", range(10, 11), "1", "23456789"),
    _DialingPlan(("GB",), "44", range(9, 11), "0", ""),
    _DialingPlan(("DE",), "49", range(6, 14), "0", ""),
    _DialingPlan(("UA",), "380", range(9, 10), "0", ""),
    _DialingPlan(("BY",), "375", range(9, 10), "80", ""),
]
_PLAN_BY_COUNTRY = {country: plan for plan in _PLANS for country in plan.countries}
_SEPARATORS = frozenset(" \t\xa0-().")


def _plan_for_international(digits: str) -> _DialingPlan | None:
    best = None
    for plan in _PLANS:  # longest calling code first; the first of equals (RU before KZ)
        if digits.startswith(plan.calling_code) and (best is None or len(plan.calling_code) > len(best.calling_code)):
            best = plan
    return best


def _international(digits: str) -> str | None:
    if not digits or digits[0] == "0":
        return None
    plan = _plan_for_international(digits)
    if plan is not None:
        return "+" + digits if plan.is_international(digits) else None
    return "+" + digits if 8 <= len(digits) <= 15 else None


def _e164(text_: str, default_country: str) -> str | None:
    digits = []
    has_plus = False
    for index, character in enumerate(text_):
        if character == "+" and index == 0:
            has_plus = True
        elif "0" <= character <= "9":
            digits.append(character)
        elif character not in _SEPARATORS:
            return None
    number = "".join(digits)
    if has_plus:
        return _international(number)
    if number.startswith("00"):
        return _international(number[2:])
    home = _PLAN_BY_COUNTRY.get(default_country.upper())
    if home is not None:
        national = home.national_number(number)
        if national is not None:
            return "+" + home.calling_code + national
        if home.is_international(number):
            return "+" + number
    if len(number) >= 11:
        plan = _plan_for_international(number)
        if plan is not None and plan.is_international(number):
            return "+" + number
    return None


def normalize_phone(raw: str | None, default_country: str) -> str | None:
    """E.164 (`+79991234567`), the trimmed input when it is not a number we can place, or None."""
    if raw is None:
        return None
    trimmed = raw.strip(_WHITESPACE_AND_NEWLINES)
    if not trimmed or trimmed == "0":
        return None
    return _e164(trimmed, default_country) or trimmed


# MARK: - Tags (TagList.swift)


def normalize_tags(value) -> list[str]:
    """Sorted, de-duplicated, trimmed, non-empty; a string is split on commas."""
    if isinstance(value, list):
        raw = [t for t in map(text, value) if t is not None]
    elif isinstance(value, str):
        raw = [t for t in map(text, value.split(",")) if t is not None]
    else:
        return []
    if not raw:
        return []
    if all(t.isascii() for t in raw):
        return sorted(set(raw))
    # Swift's String compares under canonical equivalence: de-duplicate and order by NFC.
    first = {}
    for t in raw:
        first.setdefault(unicodedata.normalize("NFC", t), t)
    return [first[key] for key in sorted(first)]


# MARK: - CallKeeper (CallKeeperMapping*.swift, CallKeeperStatus.swift)


def _leg_status(first: int | None, second: int | None) -> str:
    first = first or 0
    second = second or 0
    pair = (first, second)
    if pair == (200, 200):
        return "answered"
    if pair in ((1, 0), (2, 0)):
        return "in_progress"
    if pair in ((200, 487), (487, 0), (480, 0)):
        return "missed"
    if pair in ((200, 486), (486, 0)):
        return "busy"
    if 700 <= first <= 899 or 700 <= second <= 899:
        return "failed"
    return "unknown"


def _talk_seconds(value, status: str) -> int | None:
    """CallKeeper writes 0 for "none": a 0 is kept only for calls that never connected."""
    seconds = integer(value)
    if seconds is None or seconds < 0:
        return None
    if seconds > 0:
        return seconds
    return 0 if status in ("missed", "busy", "failed") else None


def _account_id(context: MappingContext) -> str:
    account = context.account_id.strip(_WHITESPACES)
    if not account:
        raise MappingError("missing account id (context.accountID)")
    return account


def _content(call_id: str, account: str, direction: str, status: str) -> dict:
    return {
        "source": CALLKEEPER, "source_account_id": account, "source_call_id": call_id,
        "direction": direction, "status": status,
        "started_at": None, "ended_at": None, "duration_seconds": None, "talk_seconds": None, "ring_seconds": None,
        "caller_number": None, "dialed_number": None, "destination_number": None, "caller_name": None,
        "agent": {}, "tracking": {}, "location": {}, "recording_url": None, "tags": [],
        "first_call": None, "source_updated_at": None,
    }


def _webhook_call(body: dict, context: MappingContext) -> dict:
    """A "Webhookcall" JSON body: the callback product's POST at call start or end."""
    call_id = _string(body, "id")
    if call_id is None or call_id == "0":
        raise MappingError("missing call id (id)")
    hook_event = _string(body, "hook_event")
    starting = hook_event is not None and hook_event.lower() == "call is processing"
    legs = _leg_status(integer(body.get("status_code")), integer(body.get("status2_code")))
    status = "in_progress" if starting else legs
    content = _content(call_id, _account_id(context), "outbound", status)

    epoch = _positive_integer(body, "date_timestamp")
    if epoch is not None:
        if epoch > LATEST_MAPPED_SECOND:
            raise MappingError(f"malformed start time (date_timestamp): {epoch} is not epoch seconds")
        content["started_at"] = epoch * 1000
    else:
        content["started_at"] = wall_clock_ms(_string(body, "date"), context, "date")
    talk = _talk_seconds(body.get("duration_sec"), status)
    content["talk_seconds"] = talk
    content["duration_seconds"] = talk
    content["ended_at"] = _end_ms(content["started_at"], talk)

    country = context.default_country
    content["caller_number"] = normalize_phone(_string(body, "phone2"), country)
    content["destination_number"] = normalize_phone(_string(body, "phone1"), country)

    visit = _member(_member(body, "visit_info"), "current")

    def utm(key):
        value = _string(visit, key)
        return value if value is not None else _string(body, key)

    ga = _string(body, "ga_clientid")
    content["tracking"] = {
        "source": utm("utm_source"), "medium": utm("utm_medium"), "campaign": utm("utm_campaign"),
        "content": utm("utm_content"), "term": utm("utm_term"),
        "ga_client_id": ga if ga is not None else _string(body, "ga_clid"),
    }
    content["location"] = {"city": _string(body, "city"), "region": _string(body, "region"),
                           "country": _string(body, "country")}
    content["recording_url"] = _string(body, "record_url")
    content["tags"] = normalize_tags(body.get("tags"))
    return content


def _call_record_id(record: dict) -> str:
    callback = _positive_integer(record, "cbCallId")
    if callback is not None:
        return str(callback)
    calltracking = _positive_integer(record, "ctCallId")
    if calltracking is not None:
        return f"ct:{calltracking}"
    universal = _string(record, "universalId")
    if universal is not None and universal != "0":
        return f"u:{universal}"
    raise MappingError("missing call id (cbCallId, ctCallId and universalId are all empty)")


def _call_record(record: dict, context: MappingContext) -> dict:
    """A v3 API call record (polled, or relayed to the webhook)."""
    first, second = integer(record.get("statusFirst")), integer(record.get("statusSecond"))
    status = _leg_status(first, second)
    vendor_status = _string(record, "status")
    if not first and not second and vendor_status is not None and vendor_status.lower() == "success":
        status = "answered"
    service = _string(record, "serviceType")
    direction = {"callback": "outbound", "calltracking": "inbound"}.get(service.lower() if service else None,
                                                                        "unknown")
    account = _account_id(context)  # before the call id, as in Swift (the two errors differ)
    content = _content(_call_record_id(record), account, direction, status)
    content["started_at"] = wall_clock_ms(_string(record, "callTime"), context, "callTime")
    talk = _talk_seconds(record.get("duration"), status)
    content["talk_seconds"] = talk
    content["duration_seconds"] = talk
    content["ended_at"] = _end_ms(content["started_at"], talk)

    country = context.default_country
    content["caller_number"] = normalize_phone(_string(record, "clientNumber"), country)
    content["dialed_number"] = normalize_phone(_string(record, "callerIdToClient"), country)
    content["destination_number"] = normalize_phone(_string(record, "managerNumber"), country)

    campaign_id = _positive_integer(record, "ctCampaignId")
    landing = _string(record, "entryPoint")
    content["tracking"] = {
        "campaign_id": str(campaign_id) if campaign_id is not None else None,
        "campaign_name": _string(record, "ctCampaignName"),
        "source": _string(record, "utm_source"), "medium": _string(record, "utm_medium"),
        "campaign": _string(record, "utm_campaign"), "content": _string(record, "utm_content"),
        "term": _string(record, "utm_term"), "referrer": _string(record, "referrer"),
        "landing_page": landing if landing is not None else _string(record, "entryPointQuery"),
        "ga_client_id": _string(record, "gaClid"),
    }
    content["location"] = {"city": _string(record, "city"), "region": _string(record, "region"),
                           "country": _string(record, "country")}
    content["recording_url"] = _string(record, "recordUrl")
    content["tags"] = normalize_tags(record.get("tags"))
    content["first_call"] = boolean(record.get("unique"))
    return content


def callkeeper_content(payload, context: MappingContext) -> dict:
    """CallKeeperMapping.content(from:context:): one CallKeeper payload as CallEvent content.

    Raises MappingError, with CallFeed's reason, for non-objects, error envelopes, the ckct
    calltracking webhook, bodies without a call id, bad date-times and unknown time zones.
    """
    if not isinstance(payload, dict):
        raise MappingError(f"CallKeeper payload is {_kind_name(payload)}, not a call object")
    message = text(_member(payload.get("inbound"), "error"))
    if message is not None:
        raise MappingError(f"CallKeeper error response, not a call (inbound.error): {message}")
    if any(k in payload for k in ("universalId", "serviceType", "cbCallId", "ctCallId")):
        return _call_record(payload, context)
    if any(k in payload for k in ("hook_event", "phone1", "phone2", "status2_code", "date_timestamp")):
        return _webhook_call(payload, context)
    if any(k in payload for k in ("client_number", "calltracking_number", "time_start", "call_status")):
        raise MappingError("missing call id: the ckct calltracking webhook (client_number, calltracking_number, "
                           "time_start) carries no call id to match the API record by; take these calls from "
                           "the API poll")
    if "id" in payload:
        return _webhook_call(payload, context)
    raise MappingError("missing call id (neither universalId/cbCallId/ctCallId of an API call record nor id of "
                       "a Webhookcall body)")


# MARK: - CallEvent (EventIdentity.swift, CallEvent+Bytes.swift)


def event_id(source: str, account_id: str, call_id: str) -> str:
    """UUID v5 (SHA-1) in CallFeed's namespace of `source ␟ account ␟ call id`."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{source}\x1f{account_id}\x1f{call_id}"))


_TIME_FIELDS = ("started_at", "ended_at", "source_updated_at")


def canonical_content(content: dict) -> dict:
    """The content as it is written: absent values dropped, times as RFC 3339."""
    out = {}
    for key, value in content.items():
        if value is None:
            continue
        if key in _TIME_FIELDS:
            value = rfc3339(value)
        elif isinstance(value, dict):
            value = {k: v for k, v in value.items() if v is not None}
        out[key] = value
    return out


def _dumps(value: dict) -> bytes:
    # Same bytes as CallFeed's writer: keys sorted (ASCII keys, so code points = UTF-8 bytes), no
    # whitespace, "/" and non-ASCII as is, controls as \b \f \n \r \t or \u00xx (lower-case hex).
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def revision(content: dict) -> str:
    """SHA-256 (hex) of the content's canonical JSON."""
    return hashlib.sha256(_dumps(canonical_content(content))).hexdigest()


def event_json(content: dict, channel: str, received_at_ms: int) -> tuple[str, str, bytes]:
    """(event_id, revision, the CallEvent bytes published to callfeed.calls.v1)."""
    fields = canonical_content(content)
    content_revision = hashlib.sha256(_dumps(fields)).hexdigest()
    identity = event_id(content["source"], content["source_account_id"], content["source_call_id"])
    fields.update(schema_version=SCHEMA_VERSION, event_id=identity, revision=content_revision, channel=channel,
                  received_at=rfc3339(received_at_ms))
    return identity, content_revision, _dumps(fields)


def map_webhook(body: bytes, context: MappingContext, received_at_ms: int) -> tuple[str, str, bytes]:
    """Body bytes of `POST /webhooks/callkeeper` to (event_id, revision, CallEvent JSON bytes).

    Raises ParseError or MappingError (both ValueError; ``.reason`` is the 400 answer's text).
    """
    return event_json(callkeeper_content(parse_body(body), context), "webhook", received_at_ms)
