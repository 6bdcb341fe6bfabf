# SPDX-License-Identifier: GPL-2.0-or-later
"""Crashed httpd children and nginx workers logged by any node of a stack since a point:
what the fixtures no_crash and no_crash_in_module (t/integration/conftest.py) check. A test
module asks for them with pytestmark = pytest.mark.usefixtures("no_crash_in_module",
"no_crash")."""

from t.hostile.runner import crash_lines


def nodes(stack):
    return [stack.httpd, *stack.more_httpd, *([stack.nginx] if stack.nginx else []),
            *stack.more_nginx]


def log_sizes(stack):
    return {n.error_log: len(n.read_error_log()) for n in nodes(stack)}


def crashes(stack, since):
    """Crash lines logged by any node since SINCE ({error log: length})."""
    found = []
    for n in nodes(stack):
        found += crash_lines(n.read_error_log()[since.get(n.error_log, 0):])
    return found
