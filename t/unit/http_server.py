#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The local HTTP server t/unit/http_test runs core/http_client.c against.

Listens on 127.0.0.1, plain HTTP and HTTPS (a self-signed certificate for 127.0.0.1 made
in DIR, the one argument), and prints "HTTP_PORT HTTPS_PORT CERTIFICATE" on one line once
both listen. HTTP/1.1 with keep-alive, so that a kept connection shows. Paths:
  /ok                 200 "hello"
  /status/N           N "status N"
  /big?n=N            200, N bytes with their Content-Length
  /stream?n=N         200, N bytes without a length, then the connection closes
  /slow               200 after 30 seconds
  /echo (POST)        200 "Content-Type;body"
  /peer               200 the client's port (the same on a kept connection)
  /redirect           302 to /ok
Runs until it is terminated."""
import http.server
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        n = int(urllib.parse.parse_qs(url.query).get("n", ["0"])[0])
        if url.path == "/ok":
            self.answer(200, b"hello")
        elif url.path.startswith("/status/"):
            status = int(url.path.rsplit("/", 1)[1])
            self.answer(status, f"status {status}".encode())
        elif url.path == "/big":
            self.answer(200, b"x" * n)
        elif url.path == "/stream":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"x" * n)
            self.close_connection = True
        elif url.path == "/slow":
            time.sleep(30)
            self.answer(200, b"late")
        elif url.path == "/peer":
            self.answer(200, str(self.client_address[1]).encode())
        elif url.path == "/redirect":
            self.answer(302, b"", [("Location", "/ok")])
        else:
            self.answer(404, b"no such path")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.answer(200, self.headers.get("Content-Type", "").encode() + b";" + body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def certificate(directory):
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def main():
    cert, key = certificate(sys.argv[1])
    plain = Server(("127.0.0.1", 0), Handler)
    tls = Server(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    threading.Thread(target=tls.serve_forever, daemon=True).start()
    print(plain.server_address[1], tls.server_address[1], cert, flush=True)
    plain.serve_forever()


if __name__ == "__main__":
    main()
