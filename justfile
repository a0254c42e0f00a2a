# tp development recipes. `npm test` is what CI runs; these are the same commands.
set shell := ["bash", "-cu"]

default: test

# Run the default test suite (unit + integration).
test:
    node scripts/bootstrap.mjs
    node_modules/.bin/bun test --timeout 60000

# Lint and format check (biome).
lint:
    node_modules/.bin/biome check .

# Type check without emitting.
typecheck:
    node_modules/.bin/tsc --noEmit -p .
    node_modules/.bin/tsc --noEmit -p web

# Benchmarks: each tp figure beside its reference from the same run.
bench:
    NODE_ENV=test node_modules/.bin/bun test/bench/run.ts

# End-to-end suites that drive real OpenSSH / openssl / curl.
e2e:
    node_modules/.bin/bun test --timeout 120000 test/

# Opt-in soak: sessions at a steady rate for 30 minutes (SOAK_MINUTES, SOAK_RATE); failures, RSS and fds over time.
soak:
    NODE_ENV=test node_modules/.bin/bun test/bench/soak.ts

# Distribution: dist/tp-<version>.tgz (npm package: launcher + one bundle with the patched ssh2), the single-file
# binaries dist/tp-linux-{x64,arm64}[-musl] and dist/SHA256SUMS. `just dist package` builds only the package.
dist *steps:
    node_modules/.bin/bun scripts/dist.ts {{steps}}

# Opt-in: the built binaries log in and run `tp ssh` (x64), and the arm64 one joins a cluster under qemu-user-static.
dist-test: dist
    TP_DIST_BINARIES=dist node_modules/.bin/bun test --timeout 120000 ./test/distBinaries.e2e.optin.ts

# Agents on flaky links (network namespaces, needs root and iproute2; libfaketime for the clock test).
net-flaky:
    node_modules/.bin/bun test --timeout 60000 ./test/netFlaky.e2e.optin.ts
