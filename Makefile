# Thin wrapper over Meson (DESIGN §3). The real build is meson.build.
#   make run    build and start a demo instance on loopback
#   make test   unit + integration tests, normal and ASan/UBSan builds
#   make fuzz   build the libFuzzer targets and run each briefly
#   make bench  benchmarks against Postfix (bench/README.md)
#   make bench-imap  IMAP benchmark against Dovecot (QUICK=1: smoke run)
#   make bench-outbound  outbound delivery against Postfix (QUICK=1: smoke run)

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
MESON_OPTS ?=
WERROR     := $(if $(CI),--werror,)
PYTHON     ?= /usr/bin/python3
FUZZ_SECONDS ?= 20
CI_FUZZ_SECONDS ?= 5

.PHONY: all build deps test-deps run test unit integration asan fuzz bench bench-imap \
	bench-outbound clean

all: build

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(WERROR) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	scripts/demo.sh $(BUILD)/mailkeep

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) $(WERROR) -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debug $(MESON_OPTS)

asan: test-deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

# Unit tests, then integration tests, each against both builds.
test: test-deps build asan
	scripts/check-source.sh
	meson test -C $(BUILD) --print-errorlogs
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		meson test -C $(ASAN_BUILD) --print-errorlogs
	MAILKEEP_BIN=$(CURDIR)/$(ASAN_BUILD)/mailkeep MAILKEEP_ASAN=1 \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/integration
	$(MAKE) fuzz FUZZ_SECONDS=$(CI_FUZZ_SECONDS)
	MAILKEEP_BIN=$(CURDIR)/$(BUILD)/mailkeep \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

unit: build
	meson test -C $(BUILD) --print-errorlogs

integration: build
	MAILKEEP_BIN=$(CURDIR)/$(BUILD)/mailkeep \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Db_lundef=false \
		-Dbuildtype=debugoptimized $(MESON_OPTS)

fuzz: test-deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: test-deps build
	bench/run.sh $(BUILD)/mailkeep
	bench/dkim.sh $(BUILD)

# Meaningful numbers need an optimised build, e.g.
#   make bench-imap BUILD=build-release MESON_OPTS=--buildtype=release
bench-imap: build
	@scripts/deps.sh bench
	bench/imap.sh $(if $(QUICK),--quick) $(BUILD)/mailkeep

# Outbound messages/s to smtp-sink, 1 and 20 destinations, vs Postfix.
bench-outbound: test-deps build
	bench/outbound.sh $(if $(QUICK),--quick) $(BUILD)/mailkeep

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
