# SPDX-License-Identifier: GPL-2.0-or-later
# mod_kmen: `make` builds the module, `make test` runs every test, `make demo`
# runs the demo portal. See README.md.

APXS ?= apxs
PYTHON ?= /usr/bin/python3
LASSO_MIN := 2.7.0

# core/: the logic without any server's header (APR, lasso, libpq, libcurl, OpenSSL), built
# once into a static library that the module, kmenctl and the unit tests link (the fuzzers
# and the ASan module build it again with the sanitizers); `make lint` checks its includes.
# apache/: httpd's adapter, mod_kmen.so.
CORE_SRC := $(sort $(wildcard core/*.c))
CORE_HDR := $(wildcard core/*.h)
APACHE_SRC := apache/mod_kmen.c apache/config.c apache/configcheck.c apache/request.c apache/session_cookie.c \
              apache/socache.c apache/headers.c apache/page.c apache/log.c \
              apache/login_state.c apache/handlers.c apache/auth.c \
              apache/backend_filter.c apache/evidence.c apache/status.c apache/health.c apache/metadata_fetch.c
HDR := $(CORE_HDR) $(wildcard apache/*.h)
LIBKMEN := build/libkmen.a
MODULE := apache/.libs/mod_kmen.so

WARN := -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Wno-unused-parameter
# `=`, not `:=`: expanded only where a recipe uses them, so that `make demo` and `make test`
# on a machine without pkg-config or the libraries reach t/install-deps first.
DEPS_CFLAGS = $(shell pkg-config --cflags lasso xmlsec1-openssl glib-2.0 gobject-2.0 libxml-2.0 libpq jansson openssl libcurl zlib)
DEPS_LIBS = $(shell pkg-config --libs lasso xmlsec1-openssl glib-2.0 gobject-2.0 libxml-2.0 libpq jansson openssl libcurl zlib)

# The nginx module too, where nginx-dev is installed (t/install-deps installs it).
NGINX_SRC ?= /usr/share/nginx/src
all: lasso-version $(MODULE) kmenctl/kmenctl $(if $(wildcard $(NGINX_SRC)),nginx)

# lasso < 2.7.0 accepts unsigned assertions (CVE-2021-28091): refuse to build.
lasso-version:
	@pkg-config --atleast-version=$(LASSO_MIN) lasso || \
	  { echo "mod_kmen needs lasso >= $(LASSO_MIN) (CVE-2021-28091); found $$(pkg-config --modversion lasso)" >&2; exit 1; }

# The core's objects: position-independent, for the module. Only APR's and the libraries'
# include paths: a core file that includes a server's header does not compile.
CORE_CFLAGS = -fPIC $(shell pkg-config --cflags apr-1 apr-util-1) $(DEPS_CFLAGS)

# $(call core_library,DIR,COMPILER AND FLAGS): DIR/libkmen.a from DIR/core/*.o, for the
# normal build (build/) and the sanitizers' (build/fuzz/, build/asan/).
define core_library
$(1)/core/%.o: core/%.c $$(CORE_HDR) Makefile
	@mkdir -p $$(@D)
	$(2) $$(CORE_CFLAGS) -c -o $$@ $$<

$(1)/libkmen.a: $$(patsubst core/%.c,$(1)/core/%.o,$$(CORE_SRC))
	rm -f $$@
	$$(AR) rcs $$@ $$^
endef

$(eval $(call core_library,build,$$(CC) $$(CPPFLAGS) $$(WARN) -O2 -g $$(CFLAGS)))

# -z nodelete: httpd unloads and reloads modules between its two configuration
# passes; lasso's GLib types cannot be registered twice in one process.
$(MODULE): $(APACHE_SRC) $(HDR) $(LIBKMEN) Makefile
	$(APXS) -c -o apache/mod_kmen.la -Wc,"$(WARN) -Icore $(DEPS_CFLAGS)" -Wl,-Wl,-z,nodelete \
	  $(APACHE_SRC) $(LIBKMEN) $(DEPS_LIBS)

# --- nginx/: ngx_http_kmen_module.so for Debian's nginx, built as Debian builds
# out-of-tree dynamic modules (nginx-dev, debhelper's nginx_mod build system): in
# $(NGINX_SRC), nginx's own configure, whose auto/module reads nginx/config, with the
# flags Debian's nginx was configured with (conf_flags, --with-compat among them, so that
# it loads the module) and --builddir under build/, then `make modules` there. Our files
# also get $(WARN), at compile time only: in configure's tests they would change what it
# finds. The module links the core and the libraries mod_kmen.so links, -z nodelete for
# the same reason (nginx loads it again on every reload).
NGINX_BUILD := build/nginx
NGINX_MODULE := $(NGINX_BUILD)/ngx_http_kmen_module.so
NGINX_FILES := nginx/config $(wildcard nginx/*.c nginx/*.h)
NGINX_CFLAGS = $(WARN) $(shell pkg-config --cflags apr-1)
NGINX_INCS = $(abspath core) $(patsubst -I%,%,$(shell pkg-config --cflags-only-I apr-1))
NGINX_LIBS = $(abspath $(LIBKMEN)) $(DEPS_LIBS) $(shell pkg-config --libs apr-1 apr-util-1) \
             -Wl,-z,nodelete

$(NGINX_BUILD)/Makefile: nginx/config Makefile
	rm -rf $(NGINX_BUILD)
	mkdir -p $(NGINX_BUILD)
	cd $(NGINX_SRC) && KMEN_NGX_INCS="$(NGINX_INCS)" KMEN_NGX_LIBS="$(NGINX_LIBS)" \
	  bash -c '. ./conf_flags && ./configure "$${NGX_CONF_FLAGS[@]}" "$$@"' configure \
	  --with-cc-opt="$$(dpkg-buildflags --get CFLAGS) -fPIC $$(dpkg-buildflags --get CPPFLAGS)" \
	  --with-ld-opt="$$(dpkg-buildflags --get LDFLAGS) -fPIC" \
	  --add-dynamic-module=$(abspath nginx) --builddir=$(abspath $(NGINX_BUILD)) \
	  > $(abspath $(NGINX_BUILD))/configure.log || { cat $(abspath $(NGINX_BUILD))/configure.log; exit 1; }

$(NGINX_MODULE): $(NGINX_BUILD)/Makefile $(NGINX_FILES) $(LIBKMEN) $(CORE_HDR)
	rm -f $@
	$(MAKE) -C $(NGINX_SRC) -f $(abspath $(NGINX_BUILD))/Makefile modules \
	  CFLAGS="$$(sed -n 's/^CFLAGS = *//p' $(NGINX_BUILD)/Makefile) $(NGINX_CFLAGS)"

nginx: lasso-version $(NGINX_MODULE)

# --- kmenctl: the operator CLI. It links the core's crypto.c and identifiers.c so that
# it and the module compute the same blind indexes.
KMENCTL := kmenctl/kmenctl
KMENCTL_SRC := kmenctl/kmenctl.c kmenctl/args.c kmenctl/keyfile.c kmenctl/keygen.c kmenctl/file.c kmenctl/db.c \
               kmenctl/progress.c kmenctl/csv.c kmenctl/validate.c kmenctl/essl_row.c \
               kmenctl/import.c kmenctl/import_apply.c kmenctl/import_bulk.c \
               kmenctl/notify.c kmenctl/notify_events.c \
               kmenctl/stats.c kmenctl/purge.c kmenctl/migrate.c kmenctl/merge.c \
               kmenctl/contact.c kmenctl/potential.c kmenctl/gateway.c kmenctl/gateway_calls.c \
               kmenctl/subscribe.c kmenctl/sync.c
KMENCTL_HDR := $(wildcard kmenctl/*.h) core/crypto.h core/identifiers.h core/http_client.h
# kmenctl --version prints the package's version: debian/changelog is its one source.
KMENCTL_VERSION = $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
KMENCTL_CFLAGS = $(WARN) -O2 -g -DKMENCTL_VERSION='"$(KMENCTL_VERSION)"' $(shell pkg-config --cflags apr-1 libpq openssl libcurl jansson) -Icore
KMENCTL_LIBS = $(shell pkg-config --libs apr-1 libpq openssl libcurl jansson)

$(KMENCTL): $(KMENCTL_SRC) $(KMENCTL_HDR) $(LIBKMEN) Makefile debian/changelog
	$(CC) $(CPPFLAGS) $(KMENCTL_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(KMENCTL_SRC) $(LIBKMEN) \
	  $(KMENCTL_LIBS)

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
UNIT_CFLAGS = $(WARN) -g $(DEPS_CFLAGS) $(shell pkg-config --cflags check apr-1 apr-util-1) -Icore
UNIT_LIBS = $(LIBKMEN) $(DEPS_LIBS) $(shell pkg-config --libs check apr-1 apr-util-1)
# CHECK_MAIN: the one main() every libcheck test links; each test file gives its suite.
CHECK_MAIN := t/unit/check_main.c
CHECK_MAIN_DEPS := $(CHECK_MAIN) t/unit/check_main.h
# a core context whose log lines are kept, for the tests of code that logs
LOGGED_CTX := t/unit/logged_ctx.c t/unit/logged_ctx.h
UNIT_TESTS := t/unit/saml_test t/unit/conf_test t/unit/conf_check_test t/unit/logic_test \
              t/unit/context_test t/unit/session_test t/unit/http_test t/unit/evidence_test \
              t/unit/backend_test
# logic_test reads apache/config.c's directive handlers (httpd's include dir); conf_test
# and conf_defaults, the configuration's create, merge and defaults, link the core alone.
LOGIC_CFLAGS = $(UNIT_CFLAGS) -I$(shell $(APXS) -q INCLUDEDIR) -Iapache
LOGIC_SRC := apache/config.c

# lasso's old Response pipeline, kept for the tests only: saml_test and saml_differential
# hold NIA's captured Responses and every hostile case to it and to the module's.
LASSO_REFERENCE := t/unit/lasso_reference.c t/unit/lasso_reference.h

t/unit/saml_test: t/unit/saml_test.c $(LASSO_REFERENCE) $(CHECK_MAIN_DEPS) $(LIBKMEN) $(CORE_HDR)
	$(CC) $(UNIT_CFLAGS) -It/unit -o $@ t/unit/saml_test.c t/unit/lasso_reference.c \
	  $(CHECK_MAIN) $(UNIT_LIBS)

# t/integration/test_hostile.py runs it on every hostile case's Response
t/unit/saml_differential: t/unit/saml_differential.c $(LASSO_REFERENCE) $(LIBKMEN) $(CORE_HDR)
	$(CC) $(UNIT_CFLAGS) -It/unit -o $@ t/unit/saml_differential.c t/unit/lasso_reference.c \
	  $(UNIT_LIBS)

t/unit/conf_test: t/unit/conf_test.c $(CHECK_MAIN_DEPS) $(LIBKMEN) $(CORE_HDR)
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/conf_test.c $(CHECK_MAIN) $(UNIT_LIBS)

# the core's configuration checks, each culprit in both servers' spellings
t/unit/conf_check_test: t/unit/conf_check_test.c $(CHECK_MAIN_DEPS) $(LIBKMEN) $(CORE_HDR)
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/conf_check_test.c $(CHECK_MAIN) $(UNIT_LIBS)

# the directives of the field lists with their defaults, for t/integration/test_docs.py
t/unit/conf_defaults: t/unit/conf_defaults.c $(LIBKMEN) $(CORE_HDR)
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/conf_defaults.c $(UNIT_LIBS)

# the core's request context, store and translator with no server around them
t/unit/context_test: t/unit/context_test.c $(CHECK_MAIN_DEPS) $(LIBKMEN) $(CORE_HDR)
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/context_test.c $(CHECK_MAIN) $(UNIT_LIBS)

# the core's session operations over the reference cache in the test itself, no server
t/unit/session_test: t/unit/session_test.c $(CHECK_MAIN_DEPS) $(LIBKMEN) $(CORE_HDR)
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/session_test.c $(CHECK_MAIN) $(UNIT_LIBS)

# a backend's response commands, parsed and decided, no server, no database
t/unit/backend_test: t/unit/backend_test.c $(LOGGED_CTX) $(CHECK_MAIN_DEPS) $(LIBKMEN) $(CORE_HDR)
	$(CC) $(UNIT_CFLAGS) -It/unit -o $@ t/unit/backend_test.c t/unit/logged_ctx.c $(CHECK_MAIN) \
	  $(UNIT_LIBS)

# the evidence callback's checks and the body buffer, no server, no database
t/unit/evidence_test: t/unit/evidence_test.c $(LOGGED_CTX) $(CHECK_MAIN_DEPS) $(LIBKMEN) $(CORE_HDR)
	$(CC) $(UNIT_CFLAGS) -It/unit -o $@ t/unit/evidence_test.c t/unit/logged_ctx.c $(CHECK_MAIN) \
	  $(UNIT_LIBS)

# the core's HTTP client against a local HTTP and HTTPS server it starts (t/unit/http_server.py)
t/unit/http_test: t/unit/http_test.c $(CHECK_MAIN_DEPS) $(LIBKMEN) $(CORE_HDR)
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/http_test.c $(CHECK_MAIN) $(UNIT_LIBS)

# the core's login sequence against a PostgreSQL that t/integration/test_login_core.py starts
t/unit/login_test: t/unit/login_test.c $(CHECK_MAIN_DEPS) $(LIBKMEN) $(CORE_HDR)
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/login_test.c $(CHECK_MAIN) $(UNIT_LIBS)

t/unit/logic_test: t/unit/logic_test.c $(LOGIC_SRC) $(CHECK_MAIN_DEPS) $(LIBKMEN) $(HDR)
	$(CC) $(LOGIC_CFLAGS) -o $@ t/unit/logic_test.c $(LOGIC_SRC) $(CHECK_MAIN) $(UNIT_LIBS)

test-unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do ./$$t || exit 1; done

test-integration: all t/unit/saml_differential t/unit/conf_defaults t/unit/login_test
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
# target FRESH_FUZZ_SECONDS there; then the packages are built, the nginx ones installed and
# set up by the installed docs/nginx.md, then the httpd ones by docs/first-portal.md
# (t/fresh/webmaster.py); the root is deleted afterwards.
FRESH_FUZZ_SECONDS ?= 10
test-fresh:
	./t/install-deps fresh
	FRESH_FUZZ_SECONDS=$(FRESH_FUZZ_SECONDS) $(PYTHON) t/fresh/run

lint:
	clang-format --dry-run --Werror core/*.c core/*.h apache/*.c apache/*.h t/unit/*.c \
	  kmenctl/*.c kmenctl/*.h nginx/*.c nginx/*.h
	t/lint/core-includes core
	t/lint/core-spelling core
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem -Icore core
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem --include=t/lint/cppcheck.h -Icore -Iapache apache
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem -Icore -Ikmenctl kmenctl
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem -Icore -Inginx nginx

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
	$(APXS) -i -S LIBEXECDIR=$(DESTDIR)$(MODDIR) -n kmen apache/mod_kmen.la
	install -m 0755 $(KMENCTL) $(DESTDIR)$(BINDIR)/kmenctl
	install -m 0644 sql/*.sql $(DESTDIR)$(SQLDIR)/
	install -m 0644 conf/kmen.load conf/kmen.conf $(DESTDIR)$(MODCONFDIR)/
	install -m 0644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/docs/
	install -m 0644 conf/kmen.conf $(DESTDIR)$(DOCDIR)/conf/

clean:
	rm -rf apache/*.o apache/*.lo apache/*.slo apache/*.la apache/.libs build/core $(UNIT_TESTS) \
	  $(NGINX_BUILD) \
	  t/unit/saml_differential t/unit/conf_defaults t/unit/login_test $(KMENCTL)

.PHONY: all install install-deps lasso-version test test-unit test-integration demo lint clean nginx \
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
               -Wno-unused-parameter
FUZZ_LIBKMEN := $(FUZZ_DIR)/libkmen.a
FUZZ_LIBS = $(FUZZ_LIBKMEN) $(DEPS_LIBS) $(shell pkg-config --libs apr-1 apr-util-1)
FUZZ_HDR := $(wildcard t/fuzz/*.h)

$(eval $(call core_library,$(FUZZ_DIR),$$(FUZZ_CC) $$(FUZZ_CFLAGS)))

# every target but fuzz_csv (kmenctl's CSV reader) reads the core's functions
$(FUZZ_DIR)/fuzz_%: t/fuzz/fuzz_%.c $(FUZZ_HDR) $(FUZZ_LIBKMEN) $(CORE_HDR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -It/fuzz -Icore $(CORE_CFLAGS) -o $@ $< $(FUZZ_LIBS)

$(FUZZ_DIR)/fuzz_csv: t/fuzz/fuzz_csv.c $(FUZZ_HDR) kmenctl/csv.c kmenctl/essl_row.c kmenctl/validate.c \
                      $(wildcard kmenctl/*.h)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -It/fuzz -Ikmenctl -o $@ t/fuzz/fuzz_csv.c kmenctl/csv.c \
	  kmenctl/essl_row.c kmenctl/validate.c

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
# load this build). The portal tests run on httpd alone (KMEN_TEST_SERVERS): the nginx module
# is not built with the sanitizers, and test_nginx.py covers it with ASan's httpd beside it.
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

ASAN_LIBKMEN := $(ASAN_DIR)/libkmen.a

$(eval $(call core_library,$(ASAN_DIR),$$(ASAN_CC) $$(ASAN_WARN) $$(ASAN_CFLAGS)))

$(ASAN_MODULE): $(APACHE_SRC) $(HDR) $(ASAN_LIBKMEN) Makefile
	@mkdir -p $(ASAN_DIR)
	$(ASAN_CC) -shared -fPIC -shared-libasan $(ASAN_WARN) $(APXS_CFLAGS) -Icore $(DEPS_CFLAGS) \
	  $(ASAN_CFLAGS) -o $@ $(APACHE_SRC) $(ASAN_LIBKMEN) $(DEPS_LIBS) -Wl,-z,nodelete

$(ASAN_KMENCTL): $(KMENCTL_SRC) $(KMENCTL_HDR) $(ASAN_LIBKMEN) Makefile debian/changelog
	@mkdir -p $(ASAN_DIR)
	$(ASAN_CC) $(filter-out -Werror,$(KMENCTL_CFLAGS)) $(ASAN_CFLAGS) -o $@ $(KMENCTL_SRC) \
	  $(ASAN_LIBKMEN) $(KMENCTL_LIBS)

test-asan: $(ASAN_MODULE) $(ASAN_KMENCTL) kmenctl/kmenctl
	rm -rf $(ASAN_DIR)/reports
	mkdir -p $(ASAN_DIR)/reports
	@status=0; run=$$(mktemp -d -t kmen-asan-XXXXXX) || exit 1; \
	chmod 0755 $$run; mkdir -m 0755 $$run/tmp; mkdir -m 1777 $$run/reports; \
	KEEP=1 TMPDIR=$$run/tmp KMEN_TEST_PACKAGE=0 KMEN_TEST_SERVERS=httpd \
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
