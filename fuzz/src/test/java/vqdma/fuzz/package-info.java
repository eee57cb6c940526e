/**
 * Jazzer fuzz targets for everything that reads what the other side of a ring wrote, with the oracles that check
 * them. {@code ./mvnw verify} replays each target's committed inputs; {@code scripts/fuzz} fuzzes one.
 *
 * <h2>How a target is written</h2>
 * libFuzzer finds bugs by volume, so an input must pay for the code under test and its checks, not for building the
 * world it runs in. Every target follows the same pattern (the goal is 10,000 executions per second or more on two
 * cores):
 * <ol>
 *   <li><b>Build once per process.</b> A {@link vqdma.fuzz.FuzzProfiles.PerProfile} holds, per DMA profile, a
 *   {@link vqdma.fuzz.FuzzRig}: guest memory sized to what the target's inputs reach
 *   ({@link vqdma.fuzz.FuzzProfiles#memoryBytes}), the fuzz-sized DMA ops, and a {@link vqdma.fuzz.MemoryGuard}.
 *   The target lays out what every input shares (a data area with its pattern, ring and table regions sized for
 *   the largest queue) and seals the rig. Example: {@link vqdma.fuzz.HostileDriver}.</li>
 *   <li><b>Reset first.</b> An input starts with {@link vqdma.fuzz.FuzzRig#reset()}: the ops as after construction
 *   ({@link vqdma.dma.DmaOps#reset()}), the memory's allocator and shared pages as at the seal
 *   ({@link vqdma.dma.GuestMemory#rewind}), its contents back to the sealed image (only what the last input
 *   changed), the fake clock at 0. Then whatever depends on the input's choices (queue size, features) is built
 *   in place: small ring objects are cheap, their memory is allocated after the seal and returned by the reset.
 *   Anything else a target keeps between inputs (a RAM disk, a model) it restores itself at the start.</li>
 *   <li><b>Watch, run, check.</b> After the input's own set-up, {@link vqdma.fuzz.MemoryGuard#watch()}; while the
 *   code runs, {@code allow} what it may write; {@link vqdma.fuzz.MemoryGuard#check} last. Independent oracles
 *   ({@link vqdma.fuzz.RingGrants}, {@link vqdma.fuzz.BusMap}, {@link vqdma.fuzz.DmaUsage}, the targets' models)
 *   read guest memory and the ops' statistics themselves and never trust the code under test; where one would
 *   rescan everything at every step, it keeps what it read and rescans only when those bytes changed.</li>
 *   <li><b>Take bytes, decode in Java.</b> The {@code @FuzzTest} method takes the raw {@code byte[]} and hands a
 *   {@link vqdma.fuzz.FuzzBytes} (Jazzer's decoding, without its JNI call per value) to a method taking
 *   {@link vqdma.fuzz.FuzzData}, which the plain JUnit tests call with {@link vqdma.fuzz.RandomData}.</li>
 *   <li><b>Keep the decoding.</b> Committed inputs replay through the same {@code consume*} calls in the same
 *   order: changing a range or the order changes what every committed input means. Add choices at the end; when a
 *   range must change, keep the old target for the old inputs (as {@code DmaOpsFuzzTest#opsWideArea}).</li>
 *   <li><b>Prove the reset.</b> {@link vqdma.fuzz.FuzzRigTest} runs hundreds of random inputs through every target
 *   ({@link vqdma.fuzz.RandomData}) and requires each rig, reset, to equal a new one: a new target adds itself to
 *   its {@code Target} list. Messages are formatted only when an invariant breaks
 *   ({@link vqdma.fuzz.Invariant#lazy}): formatting every call's description costs more than many of the calls.</li>
 * </ol>
 * The harness itself is not instrumented by Jazzer ({@code junit-platform.properties}), so its checks cost what they
 * cost in plain Java; it must not call product code just for a check (that code is instrumented, and slow).
 */
package vqdma.fuzz;
