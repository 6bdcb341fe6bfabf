# SPDX-License-Identifier: GPL-2.0-or-later
"""The portal a test talks to, served by the server it names: "httpd" (the stack's primary
node, mod_kmen) or "nginx" (an nginx node of the same site, the kmen module). A test that
asks for t/integration/conftest.py's `portal` fixture runs once on each."""

import os

from .nginx import NGINX_MODULE_SO, directive_names

# KMEN_TEST_SERVERS=httpd: the portal tests on httpd alone (make test-asan, whose sanitised
# build is mod_kmen's: the nginx module it would load is the normal one)
SERVERS = tuple(os.environ.get("KMEN_TEST_SERVERS", "httpd,nginx").split(","))


class Portal:
    """The stack's site as one server serves it: that node's URLs and logs. Everything else
    (register, simulator, gateway, keys, the SP's entity ID) is the stack's, which both
    servers share, and is read through to it.

    The SP is one: NIA posts its answers to, and sends browsers back to, the entity ID's
    URLs, which are the primary httpd's. url() brings such a URL to this portal's node, as a
    load balancer sends a browser back to the node it came from."""

    def __init__(self, stack, server, node):
        self.stack, self.server, self.node = stack, server, node

    def __getattr__(self, name):
        return getattr(self.stack, name)

    def __repr__(self):
        return f"<Portal {self.server} {self.base_url}>"

    @property
    def httpd(self):
        """The primary httpd, for a test of the httpd portal only: on nginx a test that
        reads httpd's logs would look at a server the requests never reached."""
        if self.server != "httpd":
            raise AttributeError("the nginx portal has no httpd: portal.node is its server")
        return self.node

    @property
    def module(self):
        """The module the portal's server loaded."""
        return self.stack.module if self.server == "httpd" else NGINX_MODULE_SO

    @property
    def http_port(self):
        return self.node.port

    @property
    def base_url(self):
        return self.node.base_url

    @property
    def acs_url(self):
        return self.base_url + "/kmen/acs"

    def url(self, where):
        """WHERE on this portal's node: a path ("/app/"), or a URL of the primary httpd
        (the SP's, as NIA's forms and redirects name it) moved to this node; any other URL
        (the simulator's) as it is."""
        if where.startswith("/"):
            return self.base_url + where
        home = self.stack.base_url
        if where == home or where.startswith(home + "/") or where.startswith(home + "?"):
            return self.base_url + where[len(home):]
        return where

    def directive(self, name):
        """The directive NAME (httpd's spelling) as the portal's server spells it, as the
        module's messages name it there."""
        return name if self.server == "httpd" else directive_names()[name]

    def log(self):
        """The error log of the portal's server."""
        return self.node.read_error_log()
