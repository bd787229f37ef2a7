#!/usr/bin/env python3
"""A pass-through TCP proxy in front of a tansu broker, for clients built on librdkafka 2.0.2.

Why: librdkafka before PR #4278 (confluentinc/librdkafka, "Fix number of bytes skipped when
receiving tags", first released in 2.2.0) skips one byte too few of every tagged field it does not
know. tansu 0.6.0 writes all four top-level tagged fields of its ApiVersions v3 response even when
they hold their defaults (SupportedFeatures = [], FinalizedFeaturesEpoch = -1,
FinalizedFeatures = [], ZkMigrationReady = false), so Debian's librdkafka 2.0.2 (and kcat) fail
with "Protocol read buffer underflow for ApiVersion v3". Apache Kafka leaves a tagged field with
its default value out, as the protocol allows.

What it changes: in ApiVersions (API key 18) responses of version >= 3 only, it drops the
top-level tagged fields that hold their default values, which is exactly what Apache Kafka sends.
Every other byte, request and response passes through untouched. A tagged field with a
non-default value is kept (and would then show the client bug, as it would with Apache Kafka).

Usage: kafka_tags_proxy.py LISTEN_PORT UPSTREAM_PORT   (both on 127.0.0.1; the broker must
advertise the proxy's address). Prints "listening <port>" once it accepts connections.
"""
import asyncio
import collections
import struct
import sys

API_VERSIONS = 18
# Tag -> the default value's encoding (ApiVersionsResponse v3).
DEFAULT_TAGS = {0: b"\x01", 1: b"\xff" * 8, 2: b"\x01", 3: b"\x00"}


def read_uvarint(data, i):
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def uvarint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def skip_tags(data, i):
    count, i = read_uvarint(data, i)
    for _ in range(count):
        _, i = read_uvarint(data, i)
        size, i = read_uvarint(data, i)
        i += size
    return i


def without_default_tags(body):
    """body: an ApiVersionsResponse v3+ after the correlation id."""
    i = 2  # error_code
    entries, i = read_uvarint(body, i)  # compact array: length + 1
    for _ in range(max(0, entries - 1)):
        i += 6  # api_key, min_version, max_version
        i = skip_tags(body, i)
    i += 4  # throttle_time_ms
    head = body[:i]
    count, i = read_uvarint(body, i)
    kept = []
    for _ in range(count):
        tag, i = read_uvarint(body, i)
        size, i = read_uvarint(body, i)
        value = body[i:i + size]
        i += size
        if DEFAULT_TAGS.get(tag) != value:
            kept.append(uvarint(tag) + uvarint(size) + value)
    return head + uvarint(len(kept)) + b"".join(kept) + body[i:]


async def requests(client, broker, pending):
    try:
        while True:
            size = await client.readexactly(4)
            frame = await client.readexactly(struct.unpack(">i", size)[0])
            api_key, api_version, correlation = struct.unpack(">hhi", frame[:8])
            pending.append((correlation, api_key, api_version))
            broker.write(size + frame)
            await broker.drain()
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        pass
    finally:
        broker.close()


async def responses(broker, client, pending):
    try:
        while True:
            size = await broker.readexactly(4)
            frame = await broker.readexactly(struct.unpack(">i", size)[0])
            correlation = struct.unpack(">i", frame[:4])[0]
            while pending and pending[0][0] != correlation:
                pending.popleft()  # a request without a response (Produce with acks=0)
            if pending:
                _, api_key, api_version = pending.popleft()
                if api_key == API_VERSIONS and api_version >= 3:
                    try:
                        frame = frame[:4] + without_default_tags(frame[4:])
                    except IndexError:
                        pass  # not the shape we know: pass it on as it is
                    size = struct.pack(">i", len(frame))
            client.write(size + frame)
            await client.drain()
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        pass
    finally:
        client.close()


async def connection(client_reader, client_writer, upstream_port):
    try:
        broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    except OSError:
        client_writer.close()  # the broker is down: the client sees a refused connection
        return
    pending = collections.deque()
    await asyncio.gather(requests(client_reader, broker_writer, pending),
                         responses(broker_reader, client_writer, pending))


async def main(listen_port, upstream_port):
    server = await asyncio.start_server(lambda r, w: connection(r, w, upstream_port), "127.0.0.1", listen_port)
    print("listening", server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
