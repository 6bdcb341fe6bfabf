# SPDX-License-Identifier: GPL-2.0-or-later
# mod_kmen: `make` builds the module, `make test` runs every test, `make demo`
# runs the demo portal. See README.md.

APXS ?= apxs
PYTHON ?= /usr/bin/python3
LASSO_MIN := 2.7.0

SRC := mod_kmen/mod_kmen.c mod_kmen/address.c mod_kmen/config.c mod_kmen/configcheck.c mod_kmen/files.c mod_kmen/crypto.c mod_kmen/identifiers.c mod_kmen/identity.c \
       mod_kmen/saml.c mod_kmen/saml_metadata.c mod_kmen/saml_metadata_verify.c mod_kmen/saml_reload.c mod_kmen/saml_response.c mod_kmen/saml_shape.c \
       mod_kmen/saml_signature.c mod_kmen/saml_decrypt.c mod_kmen/saml_sign.c mod_kmen/saml_logout.c mod_kmen/store_pg.c mod_kmen/session.c mod_kmen/memo.c mod_kmen/headers.c mod_kmen/headers_encode.c mod_kmen/redirect.c \
       mod_kmen/page.c mod_kmen/log.c mod_kmen/logout_state.c mod_kmen/login_state.c mod_kmen/pairs.c mod_kmen/handlers.c mod_kmen/auth.c \
       mod_kmen/register.c mod_kmen/translate.c mod_kmen/backend.c mod_kmen/evidence.c mod_kmen/status.c mod_kmen/health.c mod_kmen/metadata_fetch.c
HDR := $(wildcard mod_kmen/*.h)
MODULE := mod_kmen/.libs/mod_kmen.so

WARN := -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Wno-unused-parameter
# `=`, not `:=`: expanded only where a recipe uses them, so that `make demo` and `make test`
# on a machine without pkg-config or the libraries reach t/install-deps first.
DEPS_CFLAGS = $(shell pkg-config --cflags lasso xmlsec1-openssl glib-2.0 gobject-2.0 libxml-2.0 libpq jansson openssl libcurl zlib)
DEPS_LIBS = $(shell pkg-config --libs lasso xmlsec1-openssl glib-2.0 gobject-2.0 libxml-2.0 libpq jansson openssl libcurl zlib)

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
KMENCTL_SRC := kmenctl/kmenctl.c kmenctl/args.c kmenctl/keyfile.c kmenctl/keygen.c kmenctl/file.c kmenctl/db.c \
               kmenctl/progress.c kmenctl/csv.c kmenctl/validate.c kmenctl/essl_row.c \
               kmenctl/import.c kmenctl/import_apply.c kmenctl/notify.c kmenctl/notify_events.c \
               kmenctl/stats.c kmenctl/purge.c kmenctl/migrate.c kmenctl/merge.c \
               kmenctl/contact.c kmenctl/potential.c kmenctl/gateway.c kmenctl/gateway_calls.c \
               kmenctl/subscribe.c kmenctl/sync.c mod_kmen/crypto.c mod_kmen/identifiers.c
KMENCTL_HDR := $(wildcard kmenctl/*.h) mod_kmen/crypto.h mod_kmen/identifiers.h
# kmenctl --version prints the package's version: debian/changelog is its one source.
KMENCTL_VERSION = $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
KMENCTL_CFLAGS = $(WARN) -O2 -g -DKMENCTL_VERSION='"$(KMENCTL_VERSION)"' $(shell pkg-config --cflags apr-1 libpq openssl libcurl jansson) -Imod_kmen
KMENCTL_LIBS = $(shell pkg-config --libs apr-1 libpq openssl libcurl jansson)

$(KMENCTL): $(KMENCTL_SRC) $(KMENCTL_HDR) Makefile debian/changelog
	$(CC) $(CPPFLAGS) $(KMENCTL_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(KMENCTL_SRC) $(KMENCTL_LIBS)

# 1,000,000-row import into a throwaway PostgreSQL; updates bench/RESULTS.md.
bench-import: $(KMENCTL)
	$(PYTHON) bench/import_essl.py

# The goals at 10,000,000 clients, too long for make bench: the import (under 4 minutes), then
# the register section on a register of that size alone (p99 resolution under 2 ms); each
# writes its section of bench/RESULTS.md and keeps its figure in bench/figures-10m.json, which
# make bench's goals table shows. About 15 minutes. A missed goal fails the target, after
# both halves have run.
bench-10m: all
	./t/install-deps bench
	status=0; KMEN_BENCH_ROWS=10000000 $(PYTHON) bench/import_essl.py || status=$$?; \
	$(PYTHON) bench/run.py --register-clients 10000000 || status=$$?; exit $$status

# kmenctl against the gateway simulator: 100,000 rows identified, subscribed, and a
# 100,000-event change feed applied; updates its section of bench/RESULTS.md.
bench-sync: $(KMENCTL)
	$(PYTHON) bench/sync_bench.py

# plain httpd vs mod_kmen vs mod_auth_mellon and Shibboleth SP 3: authenticated request, logins, the register,
# callgrind, RSS, concurrency (bench/run.py, under 20 minutes); updates its part of
# bench/RESULTS.md and bench/concurrency.png. Not part of `make test`. The 10,000,000-client
# goals: make bench-10m.
bench: all
	./t/install-deps bench
	$(PYTHON) bench/run.py

# --- unit tests (libcheck): pure logic, and the response checks on NIA's own Response
UNIT_CFLAGS = $(WARN) -g $(DEPS_CFLAGS) $(shell pkg-config --cflags check apr-1 apr-util-1) \
               -I$(shell $(APXS) -q INCLUDEDIR) -Imod_kmen
UNIT_LIBS = $(DEPS_LIBS) $(shell pkg-config --libs check apr-1 apr-util-1)
UNIT_TESTS := t/unit/saml_test t/unit/logic_test
SAML_SRC := mod_kmen/saml.c mod_kmen/saml_metadata.c mod_kmen/saml_metadata_verify.c mod_kmen/saml_reload.c mod_kmen/saml_response.c mod_kmen/saml_shape.c \
            mod_kmen/saml_signature.c mod_kmen/saml_decrypt.c mod_kmen/saml_logout.c \
            mod_kmen/saml_sign.c mod_kmen/identity.c mod_kmen/pairs.c \
            mod_kmen/crypto.c mod_kmen/files.c
LOGIC_SRC := mod_kmen/identity.c mod_kmen/address.c mod_kmen/crypto.c mod_kmen/identifiers.c mod_kmen/redirect.c mod_kmen/headers_encode.c \
             mod_kmen/config.c mod_kmen/files.c

# lasso's old Response pipeline, kept for the tests only: saml_test and saml_differential
# hold NIA's captured Responses and every hostile case to it and to the module's.
LASSO_REFERENCE := t/unit/lasso_reference.c t/unit/lasso_reference.h

t/unit/saml_test: t/unit/saml_test.c $(LASSO_REFERENCE) $(SAML_SRC) $(HDR)
	$(CC) $(UNIT_CFLAGS) -It/unit -o $@ t/unit/saml_test.c t/unit/lasso_reference.c $(SAML_SRC) $(UNIT_LIBS)

# t/integration/test_hostile.py runs it on every hostile case's Response
t/unit/saml_differential: t/unit/saml_differential.c $(LASSO_REFERENCE) $(SAML_SRC) $(HDR)
	$(CC) $(UNIT_CFLAGS) -It/unit -o $@ t/unit/saml_differential.c t/unit/lasso_reference.c \
	  $(SAML_SRC) $(UNIT_LIBS)

t/unit/logic_test: t/unit/logic_test.c $(LOGIC_SRC) $(HDR)
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/logic_test.c $(LOGIC_SRC) $(UNIT_LIBS)

test-unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do ./$$t || exit 1; done

test-integration: all t/unit/saml_differential
	$(PYTHON) -m pytest -q

# make test: unit, integration (the hostile SAML suite among it) and every fuzz target for
# FUZZ_SECONDS (60). CI runs it, then test-asan and test-valgrind (.ci/run).
# test and demo install what is missing first (t/install-deps: nothing when all is there;
# not root: it names what to install and make stops), then build in a second make, whose
# pkg-config calls find the libraries just installed.
test: install-deps
	$(MAKE) all test-unit test-integration fuzz

# DEMO_ARGS=--check: start the demo, log in by script (a new client and the eSSL-imported
# known client), stop; exit status 0 or 1 (make test-fresh checks the demo this way).
DEMO_ARGS ?=
demo: install-deps
	$(MAKE) all
	$(PYTHON) t/demo.py $(DEMO_ARGS)

install-deps:
	./t/install-deps

# make test-fresh (root): proof that a stranger's clone works on a fresh Debian 12 machine.
# mmdebstrap builds a minimal Debian 12 root, the committed HEAD is cloned into its /root,
# and inside it t/install-deps, make demo DEMO_ARGS=--check and make test run, each fuzz
# target FRESH_FUZZ_SECONDS there; then the package is built, installed and set up by its
# installed docs/first-portal.md (t/fresh/webmaster.py); the root is deleted afterwards.
FRESH_FUZZ_SECONDS ?= 10
test-fresh:
	./t/install-deps fresh
	FRESH_FUZZ_SECONDS=$(FRESH_FUZZ_SECONDS) $(PYTHON) t/fresh/run

lint:
	clang-format --dry-run --Werror mod_kmen/*.c mod_kmen/*.h t/unit/*.c kmenctl/*.c kmenctl/*.h
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem --include=t/lint/cppcheck.h -Imod_kmen mod_kmen
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem -Imod_kmen -Ikmenctl kmenctl

# --- install (DESTDIR-aware; debian/rules uses it): the module where apxs
# installs modules, kmenctl, the migrations where kmenctl migrate looks for
# them by default, the a2enmod files, the manual pages, and README.md with
# docs/ beside it and the annotated conf/kmen.conf, as in the source tree, so
# that the documents' relative links keep working.
MODDIR ?= $(shell $(APXS) -q LIBEXECDIR)
BINDIR ?= /usr/bin
SQLDIR := /usr/share/mod-kmen/sql
MODCONFDIR ?= /etc/apache2/mods-available
MANDIR ?= /usr/share/man
DOCDIR ?= /usr/share/doc/libapache2-mod-kmen

install: all
	install -d $(DESTDIR)$(MODDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SQLDIR) $(DESTDIR)$(MODCONFDIR) \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR)/conf
	$(APXS) -i -S LIBEXECDIR=$(DESTDIR)$(MODDIR) -n kmen mod_kmen/mod_kmen.la
	install -m 0755 $(KMENCTL) $(DESTDIR)$(BINDIR)/kmenctl
	install -m 0644 sql/*.sql $(DESTDIR)$(SQLDIR)/
	install -m 0644 conf/kmen.load conf/kmen.conf $(DESTDIR)$(MODCONFDIR)/
	install -m 0644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/docs/
	install -m 0644 conf/kmen.conf $(DESTDIR)$(DOCDIR)/conf/

clean:
	rm -rf mod_kmen/*.o mod_kmen/*.lo mod_kmen/*.slo mod_kmen/*.la mod_kmen/.libs $(UNIT_TESTS) t/unit/saml_differential $(KMENCTL)

.PHONY: all install install-deps lasso-version test test-unit test-integration demo lint clean \
        bench-import bench bench-10m test-fresh

# --- hostile input: SAML Responses, fuzzing, sanitizers (t/hostile/, t/fuzz/) -----------
# make test-hostile: every hostile SAML Response case and every injected fault (database,
# failover, session cache, gateway); writes t/hostile/RESULTS.md.
HOSTILE_TESTS := t/integration/test_hostile.py t/integration/test_faults.py \
                 t/integration/test_socache.py t/integration/test_register.py
test-hostile: all t/unit/saml_differential
	KMEN_HOSTILE_RESULTS=t/hostile/RESULTS.md $(PYTHON) -m pytest -q $(HOSTILE_TESTS)

# make fuzz [FUZZ_SECONDS=60]: libFuzzer targets (clang), each run FUZZ_SECONDS; the
# binaries, the grown corpus and any failing input stay in build/fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DIR := build/fuzz
FUZZ_TARGETS := fuzz_return_to fuzz_header_encode fuzz_pairs fuzz_identity fuzz_csv fuzz_saml_shape \
                fuzz_saml_decrypt fuzz_address
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=undefined -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra \
               -Wno-unused-parameter -It/fuzz -Imod_kmen -Ikmenctl \
               $(shell pkg-config --cflags apr-1) -I$(shell $(APXS) -q INCLUDEDIR)
FUZZ_APR = $(shell pkg-config --libs apr-1)
FUZZ_HDR := $(wildcard t/fuzz/*.h)

$(FUZZ_DIR)/fuzz_return_to: t/fuzz/fuzz_return_to.c $(FUZZ_HDR) mod_kmen/redirect.c mod_kmen/redirect.h
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ t/fuzz/fuzz_return_to.c mod_kmen/redirect.c

$(FUZZ_DIR)/fuzz_header_encode: t/fuzz/fuzz_header_encode.c $(FUZZ_HDR) mod_kmen/headers_encode.c \
                                mod_kmen/crypto.c $(HDR)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ t/fuzz/fuzz_header_encode.c mod_kmen/headers_encode.c \
	  mod_kmen/crypto.c $(FUZZ_APR) -lcrypto

$(FUZZ_DIR)/fuzz_pairs: t/fuzz/fuzz_pairs.c $(FUZZ_HDR) mod_kmen/pairs.c mod_kmen/pairs.h
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ t/fuzz/fuzz_pairs.c mod_kmen/pairs.c $(FUZZ_APR)

$(FUZZ_DIR)/fuzz_identity: t/fuzz/fuzz_identity.c $(FUZZ_HDR) mod_kmen/identity.c mod_kmen/identity.h
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ t/fuzz/fuzz_identity.c mod_kmen/identity.c $(FUZZ_APR) \
	  $(shell pkg-config --libs apr-util-1)

$(FUZZ_DIR)/fuzz_csv: t/fuzz/fuzz_csv.c $(FUZZ_HDR) kmenctl/csv.c kmenctl/essl_row.c kmenctl/validate.c \
                      $(wildcard kmenctl/*.h)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ t/fuzz/fuzz_csv.c kmenctl/csv.c kmenctl/essl_row.c \
	  kmenctl/validate.c

# NIA's address fragments, read with libxml2 (address.c)
FUZZ_ADDRESS_SRC := mod_kmen/address.c mod_kmen/crypto.c

$(FUZZ_DIR)/fuzz_address: t/fuzz/fuzz_address.c $(FUZZ_HDR) $(FUZZ_ADDRESS_SRC) $(HDR)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPS_CFLAGS) -o $@ $< $(FUZZ_ADDRESS_SRC) $(FUZZ_APR) \
	  $(shell pkg-config --libs apr-util-1) $(DEPS_LIBS)

# the SAML targets: mod_kmen's checks and its signature verification (saml_shape), and its
# one decryption against lasso's (saml_decrypt)
FUZZ_SAML_SRC := mod_kmen/saml_shape.c mod_kmen/saml_signature.c mod_kmen/saml_decrypt.c mod_kmen/crypto.c

$(FUZZ_DIR)/fuzz_saml_%: t/fuzz/fuzz_saml_%.c $(FUZZ_HDR) $(FUZZ_SAML_SRC) $(HDR)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPS_CFLAGS) -o $@ $< $(FUZZ_SAML_SRC) $(FUZZ_APR) \
	  $(shell pkg-config --libs apr-util-1) $(DEPS_LIBS)

fuzz-build: $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) t/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_TARGETS)

# make test-asan: the module and kmenctl built by clang with AddressSanitizer and UBSan
# into build/asan/ (the normal build is left alone), then the integration suite against
# them (KMEN_MODULE, KMEN_KMENCTL; httpd's parent process gets the ASan runtime through
# KMEN_HTTPD_PRELOAD -> LD_PRELOAD). Sanitizer reports end up in build/asan/reports/. The
# run happens in a directory of its own from mktemp (TMPDIR, default /tmp), not in the
# checkout: httpd's children (www-data) write their reports there and PostgreSQL (postgres)
# its cluster, and a checkout may be out of their reach (a clone in /root, mode 0700). Its
# run directories are kept (KEEP=1) until their error logs have been searched for crashes,
# then it is removed. Any report or crash fails the target.
# ASAN_PYTEST_ARGS picks tests (default: all but the Debian package test, which does not
# load this build).
ASAN_CC ?= clang
ASAN_DIR := build/asan
ASAN_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
ASAN_MODULE := $(ASAN_DIR)/mod_kmen.so
ASAN_KMENCTL := $(ASAN_DIR)/kmenctl
ASAN_PYTEST_ARGS ?=
ASAN_RUNTIME = $(shell $(ASAN_CC) -print-file-name=libclang_rt.asan-x86_64.so)
ASAN_WARN := $(filter-out -Werror,$(WARN))
ASAN_MARKS := Segmentation fault|exit signal|AddressSanitizer|runtime error:|LeakSanitizer
APXS_CFLAGS = $(shell $(APXS) -q EXTRA_CPPFLAGS) -I$(shell $(APXS) -q INCLUDEDIR) \
              $(shell pkg-config --cflags apr-1 apr-util-1)

$(ASAN_MODULE): $(SRC) $(HDR) Makefile
	@mkdir -p $(ASAN_DIR)
	$(ASAN_CC) -shared -fPIC -shared-libasan $(ASAN_WARN) $(APXS_CFLAGS) $(DEPS_CFLAGS) \
	  $(ASAN_CFLAGS) -o $@ $(SRC) $(DEPS_LIBS) -Wl,-z,nodelete

$(ASAN_KMENCTL): $(KMENCTL_SRC) $(KMENCTL_HDR) Makefile debian/changelog
	@mkdir -p $(ASAN_DIR)
	$(ASAN_CC) $(filter-out -Werror,$(KMENCTL_CFLAGS)) $(ASAN_CFLAGS) -o $@ $(KMENCTL_SRC) \
	  $(KMENCTL_LIBS)

test-asan: $(ASAN_MODULE) $(ASAN_KMENCTL) kmenctl/kmenctl
	rm -rf $(ASAN_DIR)/reports
	mkdir -p $(ASAN_DIR)/reports
	@status=0; run=$$(mktemp -d -t kmen-asan-XXXXXX) || exit 1; \
	chmod 0755 $$run; mkdir -m 0755 $$run/tmp; mkdir -m 1777 $$run/reports; \
	KEEP=1 TMPDIR=$$run/tmp KMEN_TEST_PACKAGE=0 \
	KMEN_MODULE=$(abspath $(ASAN_MODULE)) KMEN_KMENCTL=$(abspath $(ASAN_KMENCTL)) \
	KMEN_HTTPD_PRELOAD=$(ASAN_RUNTIME) \
	ASAN_OPTIONS=detect_leaks=0:log_path=$$run/reports/asan \
	UBSAN_OPTIONS=print_stacktrace=1:log_path=$$run/reports/ubsan \
	  $(PYTHON) -m pytest -q $(ASAN_PYTEST_ARGS) || status=$$?; \
	find $$run/reports -type f -exec cp {} $(ASAN_DIR)/reports/ \; ; \
	find $$run/tmp -name error.log -o -name stderr.log | xargs -r grep -hE "$(ASAN_MARKS)" \
	  > $(ASAN_DIR)/reports/error-logs.txt || true; \
	[ -s $(ASAN_DIR)/reports/error-logs.txt ] || rm -f $(ASAN_DIR)/reports/error-logs.txt; \
	rm -rf $$run; \
	if [ -n "$$(ls $(ASAN_DIR)/reports)" ]; then \
	  echo "sanitizer reports in $(ASAN_DIR)/reports:"; head -n 40 $(ASAN_DIR)/reports/*; status=1; \
	else echo "test-asan: no sanitizer report, no crash"; fi; \
	exit $$status

.PHONY: test-hostile fuzz fuzz-build test-asan

# --- make test-valgrind: the primary httpd of the test stack as one process (httpd -X) under
# valgrind memcheck (t/valgrind/run.py): a login through the NIA simulator, 1,000
# authenticated requests to /app/ with /kmen/health and /kmen/metadata among them, a single
# logout, while it fetches NIA's metadata every 3 s and swaps each new copy in; fails
# on any memcheck error or anything "definitely lost" (library leaks that are not
# mod_kmen's: t/valgrind/kmen.supp, each with its reason). A first run with 10 requests:
# the heap left at exit must not grow with the requests. Logs in build/valgrind/. Several
# minutes: every metadata check and swap is slow under memcheck.
test-valgrind: all
	$(PYTHON) t/valgrind/run.py --requests 1000 --compare 10

.PHONY: test-valgrind bench-sync
