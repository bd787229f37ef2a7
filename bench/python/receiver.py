"""FastAPI + confluent-kafka reference of CallFeed's CallKeeper webhook receiver.

What it models: the service a team would write instead of `callfeed-ingest` for
`POST /webhooks/callkeeper?token=...`: check the source's token, parse the body, map it to a
CallEvent v1, produce the event to Kafka and answer only once Kafka has it.

Why it is a fair comparison: it does the same job under the same durability contract as CallFeed's
WebhookReceiver (Sources/CallFeedIngest/):

- token from `?token=` or `X-CallFeed-Token`, compared in constant time (hmac.compare_digest);
  missing or wrong: 401, nothing produced;
- body not UTF-8 JSON, or not a CallKeeper call: 400 with the reason (callevent.py is a faithful
  port of CallFeed's parser strictness, CallKeeper mapping, E.164 normalisation, UTC times,
  event_id and revision: the bytes produced are CallFeed's bytes, received_at aside; see
  check_receiver.py);
- the CallEvent goes to `callfeed.calls.v1` (key = event_id, header `source`) through a producer
  configured like CallFeed's (enable.idempotence=true, acks=all, linger.ms=2, message.timeout.ms
  10000), and 202 `{"status":"accepted","event_id":...,"revision":...}` is sent only after the
  delivery report says the brokers acknowledged it; a delivery error or a full queue: 503;
- the handler never blocks the event loop: the delivery callback (run by a background thread that
  calls producer.poll) resolves an asyncio future with loop.call_soon_threadsafe.

What it leaves out, so each side's cost is stated plainly: CallFeed also publishes every accepted
body unmodified to `callfeed.raw.v1` and waits for both acknowledgements; here that is off unless
CALLFEED_BENCH_RAW_TOPIC is set (then the same two-record contract holds). CallFeed records a
rejected body in the dead-letter topic before answering 400; this reference only answers 400.
There is one source (one token); no /metrics.

Run from bench/python, in the venv made by setup.sh:

    CALLFEED_BENCH_BOOTSTRAP=127.0.0.1:9092 python -m uvicorn receiver:app --host 127.0.0.1 \\
        --port 8090 --workers 1 --log-level warning --no-access-log

Environment:
    CALLFEED_BENCH_BOOTSTRAP        Kafka bootstrap servers (required).
    CALLFEED_BENCH_TOPIC            CallEvent topic (default callfeed.calls.v1).
    CALLFEED_BENCH_RAW_TOPIC        Also publish each accepted body here, as CallFeed does with
                                    callfeed.raw.v1 (default: empty, off).
    CALLFEED_BENCH_TOKEN            The source's webhook token, at least 8 characters
                                    (default dev-callkeeper-token, `callfeed dev`'s).
    CALLFEED_BENCH_ACCOUNT_ID       source_account_id of the events (default dev, `callfeed dev`'s,
                                    so both give the same event_id for a call).
    CALLFEED_BENCH_TIMEZONE         IANA zone of CallKeeper's zone-less times (default UTC).
    CALLFEED_BENCH_DEFAULT_COUNTRY  Country of numbers without a country code (default RU).
    CALLFEED_BENCH_DELIVERY_TIMEOUT_MS  message.timeout.ms (default 10000, CallFeed's).
    CALLFEED_BENCH_MAX_BODY_BYTES   Larger bodies get 413 (default 1048576, CallFeed's).
"""
from __future__ import annotations

import asyncio
import hmac
import os
import threading
import time
from contextlib import asynccontextmanager
from typing import Callable

from confluent_kafka import KafkaException, Producer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from callevent import MappingContext, map_webhook, rfc3339


class Settings:
    """The receiver's configuration, read from CALLFEED_BENCH_* variables (see the module doc)."""

    def __init__(self, env=os.environ):
        self.bootstrap = env.get("CALLFEED_BENCH_BOOTSTRAP", "")
        if not self.bootstrap:
            raise SystemExit("receiver: set CALLFEED_BENCH_BOOTSTRAP to the Kafka bootstrap servers")
        self.topic = env.get("CALLFEED_BENCH_TOPIC", "callfeed.calls.v1")
        self.raw_topic = env.get("CALLFEED_BENCH_RAW_TOPIC", "")
        self.token = env.get("CALLFEED_BENCH_TOKEN", "dev-callkeeper-token").encode()
        if len(self.token) < 8:
            raise SystemExit("receiver: CALLFEED_BENCH_TOKEN must be at least 8 characters")
        self.context = MappingContext(env.get("CALLFEED_BENCH_ACCOUNT_ID", "dev"),
                                      env.get("CALLFEED_BENCH_TIMEZONE", "UTC"),
                                      env.get("CALLFEED_BENCH_DEFAULT_COUNTRY", "RU"))
        if not self.context.account_id.strip():
            raise SystemExit("receiver: CALLFEED_BENCH_ACCOUNT_ID must not be empty")
        if self.context.zone is None:
            raise SystemExit(f"receiver: CALLFEED_BENCH_TIMEZONE {self.context.time_zone} is not an IANA time zone")
        self.delivery_timeout_ms = int(env.get("CALLFEED_BENCH_DELIVERY_TIMEOUT_MS", "10000"))
        self.max_body_bytes = int(env.get("CALLFEED_BENCH_MAX_BODY_BYTES", str(1 << 20)))

    def producer_config(self) -> dict:
        """librdkafka properties as CallFeed's Builders.makeProducer sets them."""
        return {
            "bootstrap.servers": self.bootstrap,
            "client.id": "callfeed-bench-python-receiver",
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 2,
            "message.timeout.ms": self.delivery_timeout_ms,
        }


class DeliveryPump:
    """Serves the producer's delivery callbacks on a thread, so no request handler ever blocks.

    librdkafka calls a message's on_delivery from inside producer.poll(); the thread polls in a loop
    and each callback hands its result to the event loop with call_soon_threadsafe.
    """

    def __init__(self, producer: Producer):
        self.producer = producer
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="kafka-delivery", daemon=True)

    def start(self):
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            self.producer.poll(0.1)

    def stop(self, flush_seconds: float = 10.0):
        self.stopping.set()
        self.thread.join()
        self.producer.flush(flush_seconds)


def _settle(future: asyncio.Future, error):
    if not future.done():
        future.set_result(error)


def delivery_future(loop: asyncio.AbstractEventLoop) -> tuple[asyncio.Future, Callable]:
    """A future and the on_delivery callback that resolves it (with None or the KafkaError)."""
    future = loop.create_future()

    def on_delivery(error, _message):
        loop.call_soon_threadsafe(_settle, future, error)

    return future, on_delivery


def error(status: int, reason: str) -> JSONResponse:
    """CallFeed's error body: `{"error": reason}`."""
    return JSONResponse({"error": reason}, status_code=status)


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = Settings()
    producer = Producer(settings.producer_config())
    pump = DeliveryPump(producer)
    pump.start()
    app.state.settings = settings
    app.state.producer = producer
    try:
        yield
    finally:
        await asyncio.to_thread(pump.stop)


app = FastAPI(title="CallFeed bench: Python webhook receiver", lifespan=lifespan,
              docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/healthz")
async def healthz():
    return {"status": "ok"}


@app.get("/readyz")
async def readyz(request: Request):
    """200 when a metadata round-trip to the brokers succeeds within a second, as CallFeed's."""
    producer: Producer = request.app.state.producer
    try:
        await asyncio.to_thread(producer.list_topics, timeout=1.0)
    except KafkaException:
        return error(503, "Kafka brokers not reachable")
    return {"status": "ready"}


@app.post("/webhooks/callkeeper")
async def callkeeper_webhook(request: Request):
    received_at_ms = time.time_ns() // 1_000_000
    settings: Settings = request.app.state.settings
    presented = request.query_params.get("token")
    if presented is None:
        presented = request.headers.get("x-callfeed-token")
    if not presented:
        return error(401, "missing token")
    if not hmac.compare_digest(presented.encode(), settings.token):
        return error(401, "invalid token")

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
        return error(413, "request body too large")
    body = await request.body()
    if len(body) > settings.max_body_bytes:
        return error(413, "request body too large")
    try:
        event_id, revision, value = map_webhook(body, settings.context, received_at_ms)
    except ValueError as rejected:  # callevent.ParseError or MappingError
        return error(400, getattr(rejected, "reason", str(rejected)))

    producer: Producer = request.app.state.producer
    loop = asyncio.get_running_loop()
    key = event_id.encode()
    waits = []
    try:
        if settings.raw_topic:
            future, on_delivery = delivery_future(loop)
            producer.produce(settings.raw_topic, value=body, key=key, on_delivery=on_delivery, headers=[
                ("source", b"callkeeper"), ("route", b"/webhooks/callkeeper"),
                ("received_at", rfc3339(received_at_ms).encode()), ("event_id", key)])
            waits.append(future)
        future, on_delivery = delivery_future(loop)
        producer.produce(settings.topic, value=value, key=key, on_delivery=on_delivery,
                         headers=[("source", b"callkeeper")])
        waits.append(future)
    except (BufferError, KafkaException):  # local queue full, or the producer refused the record
        return error(503, "event not yet durable; retry")
    for result in await asyncio.gather(*waits):
        if result is not None:
            return error(503, "event not yet durable; retry")
    return JSONResponse({"status": "accepted", "event_id": event_id, "revision": revision}, status_code=202)
