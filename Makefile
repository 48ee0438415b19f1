# supervision: build, test, run the demo, install.
#   make run      build, then generate and show the demo tree (no root needed)
#   make test     everything CI runs: vet, unit tests, fuzz seeds, testscripts
#   make install  DESTDIR= PREFIX=/usr

GO        ?= go
PREFIX    ?= /usr
DESTDIR   ?=
SYSCONFDIR ?= /etc
BINDIR    := $(PREFIX)/bin
SHAREDIR  := $(PREFIX)/share/supervision
# A static binary: it has to run as PID 1 and in minimal containers.
export CGO_ENABLED ?= 0

BIN := bin/supervision
# sv-scan is also a program of its own that links only the engine: it runs
# as long as the machine does, and the pages of code it touches are memory
# it holds. Every other tool is a link to the multi-call binary.
SCAN := bin/sv-scan
# sv-webhook sends webhooks (HTTP, TLS) for sv-scan: a binary of its own,
# so that neither sv-scan nor PID 1 carries an HTTP client.
WEBHOOK := bin/sv-webhook
# sv-http serves the API, the page, the metrics and supervisorctl's XML-RPC
# for sv-scan --http: a binary of its own for the same reason.
HTTP := bin/sv-http

.PHONY: all build run test deps vet unit testscript fuzz docs bench install clean FORCE

all: build

build: $(BIN)
$(BIN): FORCE
	$(GO) build -trimpath -o $@ ./cmd/supervision
	rm -f $(SCAN)
	$(GO) build -trimpath -o $(SCAN) ./cmd/sv-scan
	$(GO) build -trimpath -o $(WEBHOOK) ./cmd/sv-webhook
	$(GO) build -trimpath -o $(HTTP) ./cmd/sv-http
	@for t in $$($@ tools); do [ "$$t" = sv-scan ] || ln -sf supervision bin/$$t; done

run: build
	./scripts/demo

# As root, install the real peers first (runit, s6, daemontools, OpenRC, ...).
test: deps vet unit testscript

deps:
	@if [ "$$(id -u)" -eq 0 ]; then ./scripts/test-deps; else echo "make test: not root, tests that need peers or root will skip"; fi

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

# Unit tests also run every fuzz target over its seed corpus (testdata/fuzz).
unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /testscript)

testscript:
	$(GO) test -count=1 ./testscript

# Fuzz each target for a while (not part of make test): make fuzz FUZZTIME=5m
FUZZTIME ?= 60s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "$$pkg $$f"; \
			$(GO) test $$pkg -run XXX -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) || exit 1; \
		done; \
	done

docs:
	$(GO) run ./scripts/docgen docs/OPTIONS.md

# Timings and memory beside the peers installed here (not part of make
# test): writes docs/BENCHMARKS.md. Root measures the peers too.
bench: build
	$(GO) run ./scripts/bench -bin bin -o docs/BENCHMARKS.md

install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/templates/catalog
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/supervision
	rm -f $(DESTDIR)$(BINDIR)/sv-scan
	install -m 0755 $(SCAN) $(DESTDIR)$(BINDIR)/sv-scan
	install -m 0755 $(WEBHOOK) $(DESTDIR)$(BINDIR)/sv-webhook
	install -m 0755 $(HTTP) $(DESTDIR)$(BINDIR)/sv-http
	@for t in $$($(BIN) tools); do [ "$$t" = sv-scan ] || { ln -sf supervision $(DESTDIR)$(BINDIR)/$$t; echo "link $(DESTDIR)$(BINDIR)/$$t"; }; done
	for f in templates/*; do [ -f "$$f" ] && case "$$f" in *.go) ;; *) install -m 0644 "$$f" $(DESTDIR)$(SHAREDIR)/templates/ ;; esac; done
	install -m 0644 templates/catalog/* $(DESTDIR)$(SHAREDIR)/templates/catalog/
	install -m 0644 docs/OPTIONS.md $(DESTDIR)$(SHAREDIR)/
	@for f in rc/*; do case "$$f" in *.md) ;; *) install -D -m 0755 "$$f" $(DESTDIR)$(SYSCONFDIR)/init.d/$${f#rc/} ;; esac; done
	@for f in conf.d/*; do case "$$f" in *.md) ;; *) install -D -m 0644 "$$f" $(DESTDIR)$(SYSCONFDIR)/conf.d/$${f#conf.d/} ;; esac; done
	@for f in stages/*; do case "$$f" in *.md) ;; *.sh) install -D -m 0644 "$$f" $(DESTDIR)$(SYSCONFDIR)/sv-init/$${f#stages/} ;; *) install -D -m 0755 "$$f" $(DESTDIR)$(SYSCONFDIR)/sv-init/$${f#stages/} ;; esac; done

clean:
	rm -rf bin demo

FORCE:
