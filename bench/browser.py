# SPDX-License-Identifier: GPL-2.0-or-later
"""The bench's browser: plain http.client connections, one per host and port, kept alive
while the server allows. requests spent about 1.1 ms of CPU per request in its own layers
(sessions, adapters, proxy settings from the environment): with four requests per login,
4.4 of the 7.4 ms the bench client spent on pre-generating a login. One Browser serves one
thread; cookies are the caller's (they belong to one login, the connections to none)."""

import http.client
from urllib.parse import urlencode, urljoin, urlsplit

REDIRECTS = (302, 303)


class Reply:
    """What the bench reads of an HTTP response: status, Location (absolute), every
    Set-Cookie header, the body as text and the URL it came from."""

    def __init__(self, url, response, body):
        self.url, self.status = url, response.status
        location = response.getheader("Location")
        self.location = urljoin(url, location) if location else None
        self.set_cookies = response.msg.get_all("Set-Cookie") or []
        self.text = body.decode("utf-8", errors="replace")

    def redirect(self):
        """The Location of a redirect; AssertionError when it is not one."""
        assert self.status in REDIRECTS and self.location, \
            f"expected a redirect from {self.url}, got {self.status}: {self.text[:500]}"
        return self.location


class Browser:
    def __init__(self):
        self.connections = {}

    def get(self, url, cookie=""):
        return self.request("GET", url, None, {"Cookie": cookie} if cookie else {})

    def post(self, url, fields):
        return self.request("POST", url, urlencode(fields),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def request(self, method, url, body, headers):
        """One request on the connection to URL's host and port, opened when there is
        none; a connection that failed or that the server closes is dropped."""
        parts = urlsplit(url)
        conn = self.connections.pop(parts.netloc, None) or http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=60)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            reply = Reply(url, response, response.read())
        except BaseException:
            conn.close()
            raise
        if response.will_close:
            conn.close()
        else:
            self.connections[parts.netloc] = conn
        return reply

    def close(self):
        for conn in self.connections.values():
            conn.close()
        self.connections.clear()
