# Shared by the scripts: where things are, and building benchmarks.jar when it is missing or older than the sources.
# shellcheck shell=bash
VQDMA_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VQDMA_JAR="$VQDMA_HOME/benchmarks/target/benchmarks.jar"
# Agrona 2.x needs this in every JVM that loads it; java -jar gets it from the manifest, -cp does not.
VQDMA_JAVA_OPTS=(--add-exports java.base/jdk.internal.misc=ALL-UNNAMED)

vqdma_ensure_jar() {
    local stale=""
    if [ -f "$VQDMA_JAR" ]; then
        stale=$(find "$VQDMA_HOME"/{dma,ring,blk,benchmarks}/src/main "$VQDMA_HOME"/pom.xml "$VQDMA_HOME"/*/pom.xml \
            -newer "$VQDMA_JAR" -type f -print -quit 2>/dev/null || true)
    fi
    if [ ! -f "$VQDMA_JAR" ] || [ -n "$stale" ]; then
        echo "building benchmarks.jar (./mvnw package -DskipTests) ..." >&2
        (cd "$VQDMA_HOME" && ./mvnw -q -B package -DskipTests) >&2
    fi
}
