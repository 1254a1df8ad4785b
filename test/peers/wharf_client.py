#!/usr/bin/env python3
"""A wharf client written the way the classic socket tutorials write one: only socket, struct and json.

It proves that the wire format (docs/protocol.md) is implementable from its description alone, by a peer that
shares no code with wharf: a 4-byte big-endian header length (struct.pack('>I', n)), a UTF-8 JSON header
(json.dumps(header).encode()), then exactly `size` bytes of body, read back with a recv-exactly loop.

Usage: python3 wharf_client.py tcp://HOST:PORT udp://HOST:PORT

Every check that passes prints one JSON line {"check": ..., "ok": true, ...} on stdout. The first failure prints
a message on stderr and exits 1; the script never prints ok for something it did not verify.
"""

import json
import socket
import struct
import sys
import urllib.parse

# Anything slower than this on loopback is a hang, not a slow server.
TCP_TIMEOUT = 15.0
# UDP may drop a datagram even on loopback (a full receive buffer), so a lost reply is retried, not a failure.
UDP_TIMEOUT = 1.0
UDP_ATTEMPTS = 5
MAX_SAFE_INTEGER = 2**53 - 1


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def report(check, **fields):
    print(json.dumps({"check": check, "ok": True, **fields}), flush=True)


def parse_url(url, scheme):
    parts = urllib.parse.urlsplit(url)
    expect(parts.scheme == scheme, f"expected a {scheme}:// URL, got {url!r}")
    return parts.hostname, parts.port


# --- framing -----------------------------------------------------------------------------------------------------


def encode_frame(header, body=b""):
    header = dict(header, size=len(body))
    header_bytes = json.dumps(header).encode()
    return struct.pack(">I", len(header_bytes)) + header_bytes + body


def recv_exactly(sock, n):
    """Reads exactly n bytes: recv() may return fewer than asked for, so loop until they are all there."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise CheckFailed(f"the server closed the connection after {len(buf)} of {n} expected bytes")
        buf += chunk
    return bytes(buf)


def read_frame(sock):
    (header_length,) = struct.unpack(">I", recv_exactly(sock, 4))
    header = json.loads(recv_exactly(sock, header_length).decode("utf-8"))
    expect(isinstance(header, dict), f"reply header is not a JSON object: {header!r}")
    size = header.get("size", 0)  # absent means 0
    expect(isinstance(size, int) and size >= 0, f"reply size is not a non-negative integer: {header!r}")
    return header, recv_exactly(sock, size)


def decode_datagram(data):
    expect(len(data) >= 4, f"datagram of {len(data)} bytes has no header length")
    (header_length,) = struct.unpack(">I", data[:4])
    expect(4 + header_length <= len(data), "datagram header runs past the datagram's end")
    header = json.loads(data[4 : 4 + header_length].decode("utf-8"))
    body = data[4 + header_length :]
    expect(header.get("size", 0) == len(body), f"datagram size field {header.get('size')} != {len(body)} body bytes")
    return header, body


def pattern(n, seed):
    """A body whose bytes depend on the seed, so a reply carrying another request's body is caught."""
    block = bytes((i * 31 + seed * 7) & 0xFF for i in range(257))  # 257: the period never lines up with 2**k sizes
    return (block * (n // len(block) + 1))[:n]


def expect_ping_reply(header, body, request_id, sent):
    expect(header.get("id") == request_id, f"reply id {header.get('id')!r} != request id {request_id}")
    expect(header.get("ok") is True, f"ping {request_id} failed: {header!r}")
    expect(body == sent, f"ping {request_id}: body of {len(body)} bytes differs from the {len(sent)} bytes sent")


# --- checks ------------------------------------------------------------------------------------------------------


def check_ping_sizes(sock):
    for request_id, size in ((1, 0), (2, 1), (3, 64 * 1024), (4, 1024 * 1024)):
        body = pattern(size, request_id)
        sock.sendall(encode_frame({"type": "ping", "id": request_id}, body))
        header, reply_body = read_frame(sock)
        expect_ping_reply(header, reply_body, request_id, body)
        report("tcp-ping", size=size, id=request_id)


def check_no_size_field(sock):
    # `size` absent means an empty body: the header alone is a whole frame.
    header_bytes = json.dumps({"type": "ping", "id": 5}).encode()
    sock.sendall(struct.pack(">I", len(header_bytes)) + header_bytes)
    header, body = read_frame(sock)
    expect_ping_reply(header, body, 5, b"")
    report("tcp-ping-no-size")


def check_large_id(sock):
    sock.sendall(encode_frame({"type": "ping", "id": MAX_SAFE_INTEGER}, b"edge"))
    header, body = read_frame(sock)
    expect_ping_reply(header, body, MAX_SAFE_INTEGER, b"edge")
    report("tcp-ping-max-id", id=MAX_SAFE_INTEGER)


def check_pipelining(sock, count=50):
    # Ids out of creation order, sizes 0..~3 KiB: at most ~150 KiB in flight, well within socket buffers, so
    # sending everything before reading anything cannot deadlock.
    ids = [1000 + (i * 17) % count for i in range(count)]
    sent = {request_id: pattern((request_id * 61) % 3001, request_id) for request_id in ids}
    sock.sendall(b"".join(encode_frame({"type": "ping", "id": request_id}, sent[request_id]) for request_id in ids))
    received = {}
    order = []
    for _ in range(count):
        header, body = read_frame(sock)
        request_id = header.get("id")
        expect(request_id in sent, f"reply for an id that was never sent: {header!r}")
        expect(request_id not in received, f"two replies for id {request_id}")
        expect_ping_reply(header, body, request_id, sent[request_id])
        received[request_id] = body
        order.append(request_id)
    expect(len(received) == count, f"{len(received)} distinct replies for {count} requests")
    report("tcp-pipelining", requests=count, replies=len(received), in_order=order == ids)


def check_unknown_type(sock):
    sock.sendall(encode_frame({"type": "no-such-type", "id": 77}, b"ignored body"))
    header, body = read_frame(sock)
    expect(header.get("id") == 77, f"error reply id {header.get('id')!r} != 77")
    expect(header.get("ok") is False, f"unknown type did not fail: {header!r}")
    error = header.get("error")
    expect(isinstance(error, dict), f"error reply has no error object: {header!r}")
    expect(error.get("code") == "E_UNKNOWN_TYPE", f"error code {error.get('code')!r} != E_UNKNOWN_TYPE")
    expect(isinstance(error.get("message"), str), f"error has no message: {header!r}")
    # The connection must still serve requests after a non-fatal error.
    sock.sendall(encode_frame({"type": "ping", "id": 78}, b"still here"))
    header, body = read_frame(sock)
    expect_ping_reply(header, body, 78, b"still here")
    report("tcp-unknown-type", code=error["code"], connection_usable=True)


def udp_exchange(address, request_id, header, body):
    """Sends one datagram and returns the reply to it, retrying a few times because UDP may drop either one."""
    sock = socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(UDP_TIMEOUT)
    try:
        for attempt in range(1, UDP_ATTEMPTS + 1):
            sock.sendto(encode_frame(header, body), address)
            try:
                while True:
                    data, sender = sock.recvfrom(65536)
                    reply_header, reply_body = decode_datagram(data)
                    if reply_header.get("id") == request_id:
                        return reply_header, reply_body, attempt
                    # One socket per exchange, so another id cannot normally arrive; ignore it if it does.
            except socket.timeout:
                continue
        raise CheckFailed(f"no UDP reply to id {request_id} after {UDP_ATTEMPTS} attempts")
    finally:
        sock.close()


def check_udp(address):
    for request_id, size in ((1, 0), (2, 1024)):
        body = pattern(size, request_id)
        header, reply_body, attempts = udp_exchange(address, request_id, {"type": "ping", "id": request_id}, body)
        expect_ping_reply(header, reply_body, request_id, body)
        report("udp-ping", size=size, attempts=attempts)
    header, _, attempts = udp_exchange(address, 3, {"type": "no-such-type", "id": 3}, b"")
    expect(header.get("ok") is False and header.get("error", {}).get("code") == "E_UNKNOWN_TYPE", f"udp unknown type: {header!r}")
    report("udp-unknown-type", code="E_UNKNOWN_TYPE", attempts=attempts)


def main(argv):
    if len(argv) != 3:
        print("usage: wharf_client.py tcp://HOST:PORT udp://HOST:PORT", file=sys.stderr)
        return 2
    tcp_address = parse_url(argv[1], "tcp")
    udp_address = parse_url(argv[2], "udp")
    with socket.create_connection(tcp_address, timeout=TCP_TIMEOUT) as sock:
        check_ping_sizes(sock)
        check_no_size_field(sock)
        check_large_id(sock)
        check_pipelining(sock)
        check_unknown_type(sock)
    check_udp(udp_address)
    report("done")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except CheckFailed as failure:
        print(f"wharf_client.py: FAIL: {failure}", file=sys.stderr)
        sys.exit(1)
    except (OSError, ValueError) as err:  # socket errors, timeouts, bad JSON
        print(f"wharf_client.py: ERROR: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(1)
