#!/usr/bin/env python3
"""The textbook Python server of the wharf protocol, the second baseline of issue 3.

socketserver.ThreadingTCPServer with a BaseRequestHandler that loops: recv 4 bytes, struct.unpack, recv the
header, json.loads, recv the body, reply. One thread per connection, standard library only, no tricks.

Usage: python3 py_server.py [PORT]. First stdout line: `listening on tcp://127.0.0.1:PORT`.
"""

import json
import socket
import socketserver
import struct
import sys


def recv_exactly(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


class WharfHandler(socketserver.BaseRequestHandler):
    def setup(self):
        # The node servers it is compared with disable Nagle too; without it, a reply whose last segment waits
        # for a delayed ACK would measure the kernel, not Python.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self):
        sock = self.request
        while True:
            prefix = recv_exactly(sock, 4)
            if prefix is None:
                return  # the client closed between frames
            (header_length,) = struct.unpack(">I", prefix)
            header = json.loads(recv_exactly(sock, header_length))
            size = header.get("size", 0)
            body = recv_exactly(sock, size) if size else b""
            if header.get("type") == "ping":
                reply = {"id": header["id"], "ok": True, "size": len(body)}
            else:
                reply = {"id": header["id"], "ok": False, "error": {"code": "E_UNKNOWN_TYPE", "message": "unknown request type"}}
                body = b""
            reply_bytes = json.dumps(reply).encode()
            sock.sendall(struct.pack(">I", len(reply_bytes)) + reply_bytes + body)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    # The default backlog of 5 makes a burst of 100 connects wait for SYN retries; it changes nothing once the
    # connections are open, which is all the benchmark measures.
    request_queue_size = 128


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    with Server(("127.0.0.1", port), WharfHandler) as server:
        print(f"listening on tcp://127.0.0.1:{server.server_address[1]}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
