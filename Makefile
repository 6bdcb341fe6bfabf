# SPDX-License-Identifier: GPL-2.0-or-later
# mod_kmen: `make` builds the module, `make test` runs every test, `make demo`
# runs the demo portal. See README.md.

APXS ?= apxs
PYTHON ?= /usr/bin/python3
LASSO_MIN := 2.7.0

SRC := mod_kmen/mod_kmen.c mod_kmen/config.c mod_kmen/crypto.c mod_kmen/identifiers.c mod_kmen/identity.c \
       mod_kmen/saml.c mod_kmen/saml_metadata.c mod_kmen/saml_response.c \
       mod_kmen/store_pg.c mod_kmen/session.c mod_kmen/headers.c mod_kmen/headers_encode.c mod_kmen/redirect.c \
       mod_kmen/page.c mod_kmen/pairs.c mod_kmen/handlers.c mod_kmen/auth.c \
       mod_kmen/register.c mod_kmen/translate.c mod_kmen/backend.c mod_kmen/evidence.c
HDR := $(wildcard mod_kmen/*.h)
MODULE := mod_kmen/.libs/mod_kmen.so

WARN := -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Wno-unused-parameter
DEPS_CFLAGS := $(shell pkg-config --cflags lasso glib-2.0 gobject-2.0 libxml-2.0 libpq jansson openssl libcurl)
DEPS_LIBS := $(shell pkg-config --libs lasso glib-2.0 gobject-2.0 libxml-2.0 libpq jansson openssl libcurl)

all: lasso-version $(MODULE) kmenctl/kmenctl

# lasso < 2.7.0 accepts unsigned assertions (CVE-2021-28091): refuse to build.
lasso-version:
	@pkg-config --atleast-version=$(LASSO_MIN) lasso || \
	  { echo "mod_kmen needs lasso >= $(LASSO_MIN) (CVE-2021-28091); found $$(pkg-config --modversion lasso)" >&2; exit 1; }

# -z nodelete: httpd unloads and reloads modules between its two configuration
# passes; lasso's GLib types cannot be registered twice in one process.
$(MODULE): $(SRC) $(HDR) Makefile
	$(APXS) -c -o mod_kmen/mod_kmen.la -Wc,"$(WARN) $(DEPS_CFLAGS)" -Wl,-Wl,-z,nodelete $(SRC) $(DEPS_LIBS)

# --- kmenctl: the operator CLI. It links the module's crypto.c and
# identifiers.c so that both compute the same blind indexes.
KMENCTL := kmenctl/kmenctl
KMENCTL_SRC := kmenctl/kmenctl.c kmenctl/args.c kmenctl/keyfile.c kmenctl/file.c kmenctl/db.c \
               kmenctl/progress.c kmenctl/csv.c kmenctl/validate.c kmenctl/essl_row.c \
               kmenctl/import.c kmenctl/import_apply.c kmenctl/notify.c kmenctl/notify_events.c \
               kmenctl/stats.c kmenctl/purge.c kmenctl/migrate.c kmenctl/merge.c \
               kmenctl/contact.c kmenctl/potential.c \
               mod_kmen/crypto.c mod_kmen/identifiers.c
KMENCTL_HDR := $(wildcard kmenctl/*.h) mod_kmen/crypto.h mod_kmen/identifiers.h
KMENCTL_CFLAGS := $(WARN) -O2 -g $(shell pkg-config --cflags apr-1 libpq openssl) -Imod_kmen
KMENCTL_LIBS := $(shell pkg-config --libs apr-1 libpq openssl)

$(KMENCTL): $(KMENCTL_SRC) $(KMENCTL_HDR) Makefile
	$(CC) $(CPPFLAGS) $(KMENCTL_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(KMENCTL_SRC) $(KMENCTL_LIBS)

# 1,000,000-row import into a throwaway PostgreSQL; updates bench/RESULTS.md.
bench-import: $(KMENCTL)
	$(PYTHON) bench/import_essl.py

# --- unit tests (libcheck): pure logic, and the response checks on NIA's own Response
UNIT_CFLAGS := $(WARN) -g $(DEPS_CFLAGS) $(shell pkg-config --cflags check apr-1 apr-util-1) \
               -I$(shell $(APXS) -q INCLUDEDIR) -Imod_kmen
UNIT_LIBS := $(DEPS_LIBS) $(shell pkg-config --libs check apr-1 apr-util-1)
UNIT_TESTS := t/unit/saml_test t/unit/logic_test
SAML_SRC := mod_kmen/saml.c mod_kmen/saml_metadata.c mod_kmen/saml_response.c mod_kmen/identity.c \
            mod_kmen/crypto.c
LOGIC_SRC := mod_kmen/identity.c mod_kmen/crypto.c mod_kmen/identifiers.c mod_kmen/redirect.c mod_kmen/headers_encode.c \
             mod_kmen/config.c

t/unit/saml_test: t/unit/saml_test.c $(SAML_SRC) $(HDR)
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/saml_test.c $(SAML_SRC) $(UNIT_LIBS)

t/unit/logic_test: t/unit/logic_test.c $(LOGIC_SRC) $(HDR)
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/logic_test.c $(LOGIC_SRC) $(UNIT_LIBS)

test-unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do ./$$t || exit 1; done

test-integration: all
	$(PYTHON) -m pytest -q

test: all test-unit test-integration

demo: all
	./t/install-deps
	$(PYTHON) t/demo.py

lint:
	clang-format --dry-run --Werror mod_kmen/*.c mod_kmen/*.h t/unit/*.c kmenctl/*.c kmenctl/*.h
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem --include=t/lint/cppcheck.h -Imod_kmen mod_kmen
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem -Imod_kmen -Ikmenctl kmenctl

# --- install (DESTDIR-aware; debian/rules uses it): the module where apxs
# installs modules, kmenctl, the migrations where kmenctl migrate looks for
# them by default, and the a2enmod files.
MODDIR ?= $(shell $(APXS) -q LIBEXECDIR)
BINDIR ?= /usr/bin
SQLDIR := /usr/share/mod-kmen/sql
MODCONFDIR ?= /etc/apache2/mods-available

install: all
	install -d $(DESTDIR)$(MODDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SQLDIR) $(DESTDIR)$(MODCONFDIR)
	$(APXS) -i -S LIBEXECDIR=$(DESTDIR)$(MODDIR) -n kmen mod_kmen/mod_kmen.la
	install -m 0755 $(KMENCTL) $(DESTDIR)$(BINDIR)/kmenctl
	install -m 0644 sql/*.sql $(DESTDIR)$(SQLDIR)/
	install -m 0644 conf/kmen.load conf/kmen.conf $(DESTDIR)$(MODCONFDIR)/

clean:
	rm -rf mod_kmen/*.o mod_kmen/*.lo mod_kmen/*.slo mod_kmen/*.la mod_kmen/.libs $(UNIT_TESTS) $(KMENCTL)

.PHONY: all install lasso-version test test-unit test-integration demo lint clean bench-import
