.PHONY: build test demo bench clean

build:
	go build -o bin/scanstation ./cmd/scanstation

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

bench:
	go test -run '^$$' -bench . -benchmem ./...
	bash scripts/bench.sh

clean:
	rm -rf bin demo

.PHONY: deb
deb:
	bash scripts/deb.sh
