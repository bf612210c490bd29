# wormhole — one non-recursive Makefile (STYLE §11).
# Variants: build/release (default), build/asan (make sanitize), build/fuzz (make fuzz).

# `make` with no target builds the programs (the module rules below come first).
.DEFAULT_GOAL := all

BUILD ?= release
O := build/$(BUILD)
PREFIX ?= /usr/local
.DEFAULT_GOAL := all

CC ?= cc
CFLAGS ?= -O2 -g
LDFLAGS ?=
WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Wvla
PKGS := libsodium libconfig inih libcjson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) cmocka 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
EV_LIBS ?= -lev
CIVETWEB_LIBS ?= -lcivetweb
LIBS := $(CIVETWEB_LIBS) $(EV_LIBS) $(PKG_LIBS) -lm -lpthread

ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -I. $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) $(EXTRA_LDFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Module archives, and what each one may link against (STYLE §1: deps go one way).
MODULES := common proto config nat api server client
DEPS_common := common
DEPS_proto := proto common
DEPS_config := config common
DEPS_nat := nat proto common
DEPS_api := api config common
DEPS_server := server api nat proto config common
DEPS_client := client api nat proto config common
DEPS_tools := api nat proto config common

archives = $(foreach m,$(DEPS_$(1)),$(O)/wh_$(m).a)

define module_rules
$(1)_SRCS := $$(filter-out $(1)/main.c,$$(wildcard $(1)/*.c))
$(1)_OBJS := $$(patsubst %.c,$(O)/%.o,$$($(1)_SRCS))
$(O)/wh_$(1).a: $$($(1)_OBJS)
	@mkdir -p $$(dir $$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# The programs: bin/ for the release build, build/<variant>/bin/ for the
# others (make sanitize-lab runs the lab with build/asan/bin/).
BIN := $(if $(filter release,$(BUILD)),bin,$(O)/bin)
BINS := $(BIN)/wormhole-server $(BIN)/wormhole-client $(BIN)/wormhole-keygen

.PHONY: all
all: $(BINS)

$(BIN)/wormhole-server: $(O)/server/main.o $(call archives,server)
	@mkdir -p $(BIN)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/wormhole-client: $(O)/client/main.o $(call archives,client)
	@mkdir -p $(BIN)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/wormhole-keygen: $(O)/tools/keygen.o $(call archives,tools)
	@mkdir -p $(BIN)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# Benchmark and helper programs: tools/bench_*.c -> build/<variant>/tools/bench_*
TOOL_SRCS := $(wildcard tools/bench_*.c)
TOOL_BINS := $(patsubst %.c,$(O)/%,$(TOOL_SRCS))
$(O)/tools/%: $(O)/tools/%.o $(call archives,tools)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# Test programs that take arguments: tests/prog/*.c -> build/<variant>/tests/*
TESTPROG_SRCS := $(wildcard tests/prog/*.c)
TESTPROG_BINS := $(patsubst tests/prog/%.c,$(O)/tests/%,$(TESTPROG_SRCS))
$(O)/tests/%: $(O)/tests/prog/%.o $(call archives,tools)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# LD_PRELOAD libraries for lab tests: tests/shim/*.c -> build/<variant>/tests/*.so
# (plain: no sanitizer, which would have to come first in the process).
SHIM_SRCS := $(wildcard tests/shim/*.c)
SHIM_LIBS := $(patsubst tests/shim/%.c,$(O)/tests/%.so,$(SHIM_SRCS))
$(O)/tests/%.so: tests/shim/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -fPIC -shared -o $@ $< -ldl
TESTPROG_BINS += $(SHIM_LIBS)

# Unit tests: tests/unit/<module>/test_<noun>.c, linked with that module's archives only.
UNIT_SRCS := $(wildcard $(foreach m,$(MODULES),tests/unit/$(m)/test_*.c))
UNIT_BINS := $(patsubst %.c,$(O)/%,$(UNIT_SRCS))
define unit_rules
$(O)/tests/unit/$(1)/%: $(O)/tests/unit/$(1)/%.o $$(call archives,$(1))
	$$(Q)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(CMOCKA_LIBS) $$(LIBS)
endef
$(foreach m,$(MODULES),$(eval $(call unit_rules,$(m))))
# A hand save injected between cfgwrite's check and its replacing the name.
$(O)/tests/unit/config/test_cfgwrite: ALL_LDFLAGS += -Wl,--wrap=rename -Wl,--wrap=renameat2

# Fuzz targets: tests/fuzz/fuzz_<parser>.c. The release build links each with a plain
# driver that replays its corpus; the fuzz build links it with libFuzzer.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRCS))
REPLAY_BINS := $(patsubst %,$(O)/tests/replay/%,$(FUZZ_NAMES))
$(O)/tests/replay/%: $(O)/tests/fuzz/%.o $(O)/tests/fuzz/driver/replay.o $(call archives,tools)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
FUZZ_BINS := $(patsubst %,build/fuzz/bin/%,$(FUZZ_NAMES))
build/fuzz/bin/%: build/fuzz/tests/fuzz/%.o $(call archives,tools)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)

.PHONY: build-tests
build-tests: $(BINS) $(UNIT_BINS) $(REPLAY_BINS) $(TESTPROG_BINS) $(TOOL_BINS)

.PHONY: deps
deps:
	@tools/deps.sh tools/debian-packages.txt

.PHONY: test test-unit test-corpus test-vectors test-fuzz-short test-lab
# `make test` and `make demo` are the README's commands: they install missing
# packages first, then re-enter make so pkg-config sees the installed libraries.
# Builds use every core (the tests themselves run one at a time).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

test:
	@tools/deps.sh tools/debian-packages.txt
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) build-tests
	$(Q)$(MAKE) --no-print-directory test-unit test-corpus test-vectors
	$(Q)$(MAKE) --no-print-directory test-lab

test-unit: $(UNIT_BINS)
	@tools/run_tests.sh unit $(UNIT_BINS)

test-corpus: $(REPLAY_BINS)
	@tools/run_tests.sh corpus $(REPLAY_BINS)

test-vectors: $(O)/tests/noise_vectors
	@tools/run_tests.sh vectors $(O)/tests/noise_vectors

test-lab: $(BINS) $(TESTPROG_BINS) $(TOOL_BINS)
	@tools/run_tests.sh lab $(wildcard tests/lab/test_*.sh)

# A few seconds of real fuzzing per target (CI runs it after make test: about
# a minute, most of it the clang build).
FUZZ_SHORT_SECONDS ?= 3
test-fuzz-short:
	@if command -v clang >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory fuzz-run FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS); \
	else echo "test-fuzz-short: clang not found, skipped (make deps installs it)"; exit 1; fi

.PHONY: sanitize asan unit-bins
unit-bins: $(UNIT_BINS) $(REPLAY_BINS)
# Built on every core first, then run one by one (their lines in order).
SANITIZE_FLAGS = BUILD=asan \
	EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	EXTRA_LDFLAGS="-fsanitize=address,undefined"
sanitize asan:
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) $(SANITIZE_FLAGS) unit-bins
	$(Q)$(MAKE) --no-print-directory $(SANITIZE_FLAGS) test-unit test-corpus

# The lab with the daemons built with ASan and UBSan (build/asan/bin; the
# test programs are the release ones): a memory error, undefined behaviour
# or a leak at a daemon's exit fails the run (tools/sanitize_lab.sh).
# LAB_TESTS picks tests (default: all). Not part of make test (about 8 min).
.PHONY: sanitize-lab
LAB_TESTS ?= $(wildcard tests/lab/test_*.sh)
sanitize-lab:
	@tools/deps.sh tools/debian-packages.txt
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) build-tests
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) $(SANITIZE_FLAGS) all
	@tools/sanitize_lab.sh build/asan/bin $(LAB_TESTS)

.PHONY: fuzz fuzz-bins fuzz-run
FUZZ_SECONDS ?= 60
fuzz:
	$(Q)$(MAKE) --no-print-directory BUILD=fuzz CC=clang \
		EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" fuzz-bins
	$(Q)$(MAKE) --no-print-directory fuzz-run FUZZ_SECONDS=$(FUZZ_SECONDS) NO_BUILD=1

fuzz-bins: $(FUZZ_BINS)

fuzz-run:
	$(Q)$(if $(NO_BUILD),,$(MAKE) --no-print-directory -j$(JOBS) BUILD=fuzz CC=clang \
		EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" fuzz-bins)
	@tools/run_fuzz.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

.PHONY: bench
bench: $(TOOL_BINS) $(BINS)
	@tools/bench.sh

# Flows across several session rekeys, in the namespace lab (5 min; SOAK_S).
.PHONY: soak
soak: $(BINS) $(TESTPROG_BINS) $(TOOL_BINS)
	@tools/soak.sh

# A long flight's churn against the daemons' resources (2.5 min; CHURN_CYCLES,
# CHURN_VALGRIND=1 for memcheck).
.PHONY: churn
churn: $(BINS) $(TESTPROG_BINS) $(TOOL_BINS)
	@tools/churn.sh

# A GCS whose machine sleeps past the key lifetime (4 min; SUSPEND_S).
.PHONY: suspend
suspend: $(BINS) $(TESTPROG_BINS) $(TOOL_BINS)
	@tools/suspend.sh

.PHONY: demo
demo:
	@tools/deps.sh tools/debian-packages.txt
	$(Q)$(MAKE) --no-print-directory all build/release/tools/bench_flow
	@tools/demo.sh

.PHONY: format check-format lint check-deps check-headers install clean
SRC_ALL := $(shell find common proto nat config api server client tools tests -name '*.[ch]' 2>/dev/null)
format:
	clang-format -i $(SRC_ALL)
check-format:
	clang-format --dry-run --Werror $(SRC_ALL)
# Braces everywhere; in the programs (not tests/), no function over 60 lines
# (STYLE.md "Size").
lint:
	clang-tidy --quiet -checks='-*,readability-braces-around-statements' \
		$(filter %.c,$(SRC_ALL)) -- -std=c11 -D_GNU_SOURCE -I. $(PKG_CFLAGS)
	clang-tidy --quiet -checks='-*,readability-function-size' -warnings-as-errors='*' \
		-config='{CheckOptions: [{key: readability-function-size.LineThreshold, value: 60}]}' \
		$(filter-out tests/%,$(filter %.c,$(SRC_ALL))) -- -std=c11 -D_GNU_SOURCE -I. $(PKG_CFLAGS)
check-deps:
	@tools/check_deps.sh
check-headers:
	@for h in $(filter-out tests/%,$(filter %.h,$(SRC_ALL))); do \
		echo "#include \"$$h\"" | $(CC) -std=c11 -D_GNU_SOURCE $(WARN) -I. $(PKG_CFLAGS) \
			-x c -fsyntax-only - || exit 1; done; echo "check-headers: ok"
# Binaries, the README and the example systemd units (README "Running it for real").
install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/doc/wormhole/systemd
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 README.md $(DESTDIR)$(PREFIX)/share/doc/wormhole/
	for u in config/systemd/*.service; do \
		sed 's|/usr/local/|$(PREFIX)/|g' "$$u" >$(DESTDIR)$(PREFIX)/share/doc/wormhole/systemd/$${u##*/} && \
		chmod 644 $(DESTDIR)$(PREFIX)/share/doc/wormhole/systemd/$${u##*/} || exit 1; \
	done
clean:
	rm -rf build bin

.SECONDARY:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
