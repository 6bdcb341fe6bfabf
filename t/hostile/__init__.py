# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile input for mod_kmen: SAML Responses, open-redirect payloads (see README.md)."""
