#!/usr/bin/env python3
"""Checks that the Python receiver's mapping (callevent.py) produces CallFeed's CallEvents.

The expected values are those CallFeed's own tests state (Tests/CallFeedCoreTests:
CallKeeperMappingTests, EventIdentityTests, PhoneNumberTests) for the same fixtures and the same
context (account ck-tenant-1, UTC, RU), plus the event_id and revision that CallFeed's release
build gave for the sample webhook (`callfeed dev`, account `dev`, read back from its warehouse):
a benchmark against receiver.py only means something if both sides do the same work.

Standard library only; runs with any Python 3.11:

    python3 bench/python/check_receiver.py        # prints each mismatch, then "N passed, N failed"
"""
from __future__ import annotations

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import callevent as ce  # noqa: E402

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "Tests/CallFeedCoreTests/Fixtures"
CONTEXT = ce.MappingContext("ck-tenant-1", "UTC", "RU")  # Fixture.callKeeper
RECEIVED_AT_MS = 1_715_700_000_000  # EventIdentityTests.receivedAt

# CallKeeperMappingTests.webhookCall(): "Webhookcall body (after call finish) maps every field".
WEBHOOK_EXPECTED = {
    "source": "callkeeper", "source_account_id": "ck-tenant-1", "source_call_id": "10000001",
    "direction": "outbound", "status": "answered",
    "started_at": "2024-05-14T12:05:10Z", "ended_at": "2024-05-14T12:06:45Z",
    "duration_seconds": 95, "talk_seconds": 95,
    "caller_number": "+79990000124", "destination_number": "+74950000199",
    "agent": {},
    "tracking": {"source": "yandex", "medium": "cpc", "campaign": "spring_promo",
                 "ga_client_id": "1234567890.1715680000"},
    "location": {"city": "Москва", "region": "Москва", "country": "RU"},
    "recording_url": "https://callkeeper.ru/records/fake/10000001.mp3",
    "tags": [],
}

# The same payload posted to CallFeed's release build (`callfeed dev`, whose CallKeeper source is account
# "dev", UTC, RU): the event_id and revision of its 202 answer and of the row in its warehouse.
CALLFEED_DEV_EVENT = {"event_id": "86952491-dda3-5370-974a-41b853aef517",
                      "revision": "e9e8880ec2362f8518cdadba47b3cd20f4b6bfde6f30aaf476e2fecc7f138c31"}

# CallKeeperMappingTests.apiCallRecord(): "API call record (calltracking sample) maps every field".
RECORD_EXPECTED = {
    "source": "callkeeper", "source_account_id": "ck-tenant-1", "source_call_id": "ct:700123",
    "direction": "inbound", "status": "answered",
    "started_at": "2024-05-14T11:30:00Z", "ended_at": "2024-05-14T11:32:05Z",
    "duration_seconds": 125, "talk_seconds": 125,
    "caller_number": "+79990000123", "dialed_number": "+74950000100", "destination_number": "+74950000199",
    "agent": {},
    "tracking": {"campaign_id": "1001", "campaign_name": "Yandex Direct", "source": "yandex", "medium": "cpc",
                 "campaign": "spring_promo", "content": "ad_01", "term": "santehnik",
                 "referrer": "https://yandex.ru/", "landing_page": "https://example.ru/",
                 "ga_client_id": "1234567890.1715680000"},
    "location": {"city": "Москва", "region": "Москва", "country": "Россия"},
    "recording_url": "https://ckct.ru/records/fake/40000000000000123.mp3",
    "tags": ["new-lead"], "first_call": True,
}

# PhoneNumberTests: (raw, default country, expected).
PHONES = [
    ("8 (999) 123-45-67", "RU", "+79991234567"), ("8-800-555-35-35", "RU", "+78005553535"),
    ("9991234567", "RU", "+79991234567"), ("(495) 000-01-99", "RU", "+74950000199"),
    ("79999999999", "RU", "+79999999999"), ("+7 999 123 45 67", "RU", "+79991234567"),
    ("  +7 (999) 123.45.67 ", "ru", "+79991234567"), ("0079991234567", "RU", "+79991234567"),
    ("00 7 999 123 45 67", "US", "+79991234567"), ("8 701 234 56 78", "KZ", "+77012345678"),
    ("7012345678", "KZ", "+77012345678"), ("+1 (555) 555-0123", "US", "+15555550123"),
    ("(555) 555-0123", "US", "+15555550123"), ("555.555.0123", "US", "+15555550123"),
    ("1-555-555-0123", "US", "+15555550123"), ("15555550123", "CA", "+15555550123"),
    ("011 44 20 7946 0018", "US", "011 44 20 7946 0018"), ("020 7946 0018", "GB", "+442079460018"),
    ("+44 (0)20 7946 0018", "GB", "+44 (0)20 7946 0018"), ("030 1234567", "DE", "+49301234567"),
    ("+49 30 1234567", "US", "+49301234567"), ("050 123 4567", "UA", "+380501234567"),
    ("8 029 123-45-67", "BY", "+375291234567"), ("375291234567", "RU", "+375291234567"),
    ("380501234567", "RU", "+380501234567"), ("+33 1 23 45 67 89", "FR", "+33123456789"),
    ("0033123456789", "RU", "+33123456789"),
    ("call me maybe", "RU", "call me maybe"), ("+7 999 CALL-NOW", "RU", "+7 999 CALL-NOW"),
    ("+7 999 123-45-67 доб. 12", "RU", "+7 999 123-45-67 доб. 12"), ("  12345  ", "RU", "12345"),
    ("+7 999 12", "RU", "+7 999 12"), ("+7 999 123 45 678", "RU", "+7 999 123 45 678"), ("+", "RU", "+"),
    ("00", "RU", "00"), ("+0 123 456 789", "RU", "+0 123 456 789"), ("9991234567", "FR", "9991234567"),
    ("2079460018", "GB", "2079460018"), ("7 999 123-45-67 x", "RU", "7 999 123-45-67 x"),
    ("79991234567+", "RU", "79991234567+"), ("+1234567890123456", "RU", "+1234567890123456"),
    (None, "RU", None), ("", "RU", None), ("   ", "RU", None), ("\n", "RU", None), ("0", "RU", None),
    (" 0 ", "RU", None), ("8 999 123 45 67", "US", "8 999 123 45 67"), ("+15555550123", "RU", "+15555550123"),
]

# CallKeeperMappingTests.callTimeZones(): (zone, callTime, started_at).
ZONES = [
    ("UTC", "2024-05-14 11:30:00", "2024-05-14T11:30:00Z"),
    ("Europe/Moscow", "2024-05-14 11:30:00", "2024-05-14T08:30:00Z"),
    ("America/New_York", "2024-05-14 11:30:00", "2024-05-14T15:30:00Z"),
    ("America/New_York", "2024-01-15 11:30:00", "2024-01-15T16:30:00Z"),
    ("Europe/Moscow", "2024-01-01 01:00:00", "2023-12-31T22:00:00Z"),
]

# CallKeeperMappingTests.statusPairs(): (status_code, status2_code, status).
STATUSES = [
    (200, 200, "answered"), (1, 0, "in_progress"), (2, 0, "in_progress"), (200, 487, "missed"),
    (487, 0, "missed"), (480, 0, "missed"), (200, 486, "busy"), (486, 0, "busy"), (790, 0, "failed"),
    (811, 0, "failed"), (815, 0, "failed"), (101, 200, "unknown"), (200, 0, "unknown"), (603, 0, "unknown"),
]


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def equal(self, what, actual, expected):
        if actual == expected:
            self.passed += 1
        else:
            self.failed += 1
            print(f"MISMATCH {what}:\n  python:   {actual!r}\n  callfeed: {expected!r}")

    def rejected(self, what, payload, expected_reason, context=CONTEXT, prefix=False):
        try:
            content = ce.callkeeper_content(payload, context)
        except ce.MappingError as error:
            ok = error.reason.startswith(expected_reason) if prefix else error.reason == expected_reason
            self.equal(what, error.reason if not ok else expected_reason, expected_reason)
            return
        self.equal(what, f"accepted call {content['source_call_id']}", f"rejected: {expected_reason}")


def fixture(name):
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def mapped(payload, context=CONTEXT):
    return ce.canonical_content(ce.callkeeper_content(payload, context))


def compare_fields(checks, label, actual, expected):
    for key in sorted(set(actual) | set(expected)):
        checks.equal(f"{label}.{key}", actual.get(key), expected.get(key))


def main():
    checks = Checks()
    webhook = fixture("callkeeper.webhook.after-call-finish.sample")
    record = fixture("callkeeper.call.sample")
    page = fixture("callkeeper.calls.page.sample")

    # The webhook the benchmark posts: every field, then the published event.
    compare_fields(checks, "webhook", mapped(webhook), WEBHOOK_EXPECTED)
    body = (FIXTURES / "callkeeper.webhook.after-call-finish.sample.json").read_bytes()
    identity, revision, value = ce.map_webhook(body, CONTEXT, RECEIVED_AT_MS)
    event = json.loads(value)
    checks.equal("event metadata", {k: event[k] for k in ("schema_version", "channel", "received_at")},
                 {"schema_version": "1", "channel": "webhook", "received_at": "2024-05-14T15:20:00Z"})
    checks.equal("event_id (recomputed by uuid5)", identity, ce.event_id("callkeeper", "ck-tenant-1", "10000001"))
    checks.equal("event bytes are sorted, compact JSON", value,
                 json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
    dev_id, dev_revision, _ = ce.map_webhook(body, ce.MappingContext("dev", "UTC", "RU"), RECEIVED_AT_MS)
    checks.equal("event_id as callfeed dev publishes it", dev_id, CALLFEED_DEV_EVENT["event_id"])
    checks.equal("revision as callfeed dev publishes it", dev_revision, CALLFEED_DEV_EVENT["revision"])

    # The API record shape is served by the same route.
    compare_fields(checks, "api record", mapped(record), RECORD_EXPECTED)
    callback = mapped(page[1])
    checks.equal("page[1] callback", {k: callback.get(k) for k in (
        "source_call_id", "direction", "status", "started_at", "duration_seconds", "ended_at", "caller_number",
        "dialed_number", "destination_number", "recording_url", "tracking")},
        {"source_call_id": "10000001", "direction": "outbound", "status": "missed",
         "started_at": "2024-05-14T12:05:10Z", "duration_seconds": 0, "ended_at": "2024-05-14T12:05:10Z",
         "caller_number": "+79990000124", "dialed_number": "+74950000100",
         "destination_number": "+74950000199", "recording_url": None, "tracking": {}})
    first = mapped(page[0])
    checks.equal("page[0] blanks", (first["source_call_id"], first["tracking"].get("content"), first["tags"],
                                    first.get("first_call")), ("ct:700123", None, [], None))
    # EventIdentityTests: webhook and poll of one callback call share the event_id, not the revision.
    checks.equal("webhook/poll event_id", ce.event_id("callkeeper", "ck-tenant-1", callback["source_call_id"]),
                 identity)
    checks.equal("webhook/poll revisions differ",
                 ce.revision(ce.callkeeper_content(page[1], CONTEXT)) != revision, True)
    checks.equal("another account, another event_id",
                 ce.event_id("callkeeper", "ck-tenant-2", "10000001") != identity, True)

    # Start-of-call hook, status pairs, times, tags.
    start = dict(webhook, hook_event="Call is processing", status_code=0, status2_code=0, duration_sec=0,
                 record_url="")
    s = mapped(start)
    checks.equal("start-of-call hook", (s["status"], s.get("duration_seconds"), s.get("ended_at"),
                                        s.get("recording_url")), ("in_progress", None, None, None))
    for a, b, status in STATUSES:
        checks.equal(f"status {a}/{b} (record)", mapped(dict(record, statusFirst=a, statusSecond=b))["status"], status)
        checks.equal(f"status {a}/{b} (webhook)", mapped(dict(webhook, status_code=a, status2_code=b))["status"],
                     status)
    raw = b'{"id": 10000002, "hook_event": "Call is over", "status_code": 1, "status2_code": 0, "duration_sec": 0}'
    r = ce.canonical_content(ce.callkeeper_content(ce.parse_body(raw), CONTEXT))
    checks.equal("raw codes 1/0", (r["source_call_id"], r["status"], r.get("duration_seconds")),
                 ("10000002", "in_progress", None))
    no_legs = {k: v for k, v in record.items() if k not in ("statusFirst", "statusSecond")}
    checks.equal("status: success fallback", mapped(no_legs)["status"], "answered")
    checks.equal("status: fail fallback", mapped(dict(no_legs, status="fail"))["status"], "unknown")
    for service, direction in (("callback", "outbound"), ("calltracking", "inbound"), ("import", "unknown"),
                               ("", "unknown")):
        checks.equal(f"direction {service!r}", mapped(dict(record, serviceType=service))["direction"], direction)
    zero = mapped(dict(record, duration=0))
    checks.equal("duration 0 on an answered call", (zero.get("duration_seconds"), zero.get("talk_seconds"),
                                                     zero.get("ended_at")), (None, None, None))
    for zone, call_time, expected in ZONES:
        got = mapped(dict(record, callTime=call_time), ce.MappingContext("ck-tenant-1", zone, "RU"))
        checks.equal(f"callTime {call_time} in {zone}", got["started_at"], expected)
    moscow = ce.MappingContext("ck-tenant-1", "Europe/Moscow", "RU")
    checks.equal("date_timestamp wins over the zone", mapped(webhook, moscow)["started_at"], "2024-05-14T12:05:10Z")
    date_only = {k: v for k, v in webhook.items() if k != "date_timestamp"}
    checks.equal("webhook date in UTC", mapped(date_only)["started_at"], "2024-05-14T12:05:10Z")
    checks.equal("webhook date in Moscow", mapped(date_only, moscow)["started_at"], "2024-05-14T09:05:10Z")
    for blank in ("", "0000-00-00 00:00:00"):
        b = mapped(dict(record, callTime=blank))
        checks.equal(f"blank callTime {blank!r}", (b.get("started_at"), b.get("ended_at")), (None, None))
    checks.equal("tags (array)", mapped(dict(record, tags=["quote", " new-lead ", "quote", "", "a"]))["tags"],
                 ["a", "new-lead", "quote"])
    checks.equal("tags (comma list)", mapped(dict(webhook, tags="quote, new-lead,,quote"))["tags"],
                 ["new-lead", "quote"])

    # Rejections, with CallFeed's reasons (the 400 answer's text).
    checks.rejected("calltracking webhook", fixture("callkeeper.webhook.calltracking.sample"),
                    "missing call id: the ckct calltracking webhook", prefix=True)
    checks.rejected("error envelope", fixture("callkeeper.error.sample"),
                    "CallKeeper error response, not a call (inbound.error): ", prefix=True)
    for payload in ([], "79990000123", 10000001, None, True):
        checks.rejected(f"non-object {payload!r}", payload,
                        f"CallKeeper payload is {ce._kind_name(payload)}, not a call object")
    checks.rejected("a whole page", page, "CallKeeper payload is an array, not a call object")
    checks.rejected("empty object", {}, "missing call id (", prefix=True)
    checks.rejected("object without ids", {"city": "Москва"}, "missing call id (", prefix=True)
    checks.rejected("record without ids", dict(record, cbCallId=0, ctCallId=0, universalId=""),
                    "missing call id (cbCallId, ctCallId and universalId are all empty)")
    for bad_id in (None, "", 0):
        payload = {k: v for k, v in webhook.items() if k != "id"} if bad_id is None else dict(webhook, id=bad_id)
        checks.rejected(f"webhook id {bad_id!r}", payload, "missing call id (id)")
    checks.rejected("blank account", record, "missing account id (context.accountID)",
                    ce.MappingContext(" ", "UTC", "RU"))
    checks.rejected("malformed callTime", dict(record, callTime="14.05.2024 11:30"),
                    'malformed date-time (callTime): "14.05.2024 11:30" is not YYYY-MM-DD HH:MM:SS')
    checks.rejected("unknown zone", record, 'unknown time zone "Mars/Olympus_Mons"',
                    ce.MappingContext("ck-tenant-1", "Mars/Olympus_Mons", "RU"), prefix=True)
    for name, body in (("not JSON", b"{not json"), ("NaN", b'{"id": NaN}'), ("UTF-16", '{"id":1}'.encode("utf-16")),
                       ("lone surrogate", b'{"id": 1, "x": "\\ud800"}'), ("1e400", b'{"id": 1e400}'),
                       ("trailing data", b'{"id": 1} x'), ("too deep", b"[" * 513 + b"]" * 513)):
        try:
            ce.parse_body(body)
            checks.equal(f"parse {name}", "accepted", "400 invalid JSON")
        except ce.ParseError:
            checks.passed += 1
    checks.equal("512 levels parse", ce.parse_body(b"[" * 512 + b"]" * 512) is not None, True)

    for raw_number, country, expected in PHONES:
        checks.equal(f"phone {raw_number!r} ({country})", ce.normalize_phone(raw_number, country), expected)

    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
