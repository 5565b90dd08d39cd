.PHONY: build test demo bench gobench clean soak

build:
	go build -o bin/scanstation ./cmd/scanstation

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

# Every crash point of every path (docs/reliability.md), then the kill -9, full-disk and memory
# soaks. The crash points alone (10 paths, about 400 points) take about half an hour on the
# shared 2-core machine, the whole of it about 40 minutes.
soak:
	PATH="$${SCANSTATION_TOOLS:-/opt/scanstation-tools}/bin:$$PATH" SCANSTATION_CRASH_ALL=1 \
		go test -count=1 -timeout 90m -v -run 'TestCrashPoints|TestCrashSoak|TestCrashRecoveryEveryInputExactlyOnce|TestFullDiskPausesAndResumes|TestMemoryWith500FilesWaiting' ./cmd/scanstation/

# Issue 15's table and the rest of docs/benchmarks.md, in one run (about an hour on 2 cores; see
# scripts/bench.sh for its steps and settings). gobench: every Go benchmark, for the console.
bench:
	bash scripts/bench.sh

gobench:
	go test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin demo

.PHONY: deb
deb:
	bash scripts/deb.sh
