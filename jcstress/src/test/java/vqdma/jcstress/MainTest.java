package vqdma.jcstress;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The argument handling of {@link Main}: fork flags per JDK, and the bounded preset that yields to the caller.
 */
class MainTest
{
    @Test
    void forkFlagsOnJdk17AreTheAgronaExportOnly()
    {
        assertEquals(List.of("-jvmArgsPrepend", Main.ADD_EXPORTS, "-t", "Kick"),
            List.of(Main.jcstressArgs(new String[] {"-t", "Kick"}, 17)));
    }

    @Test
    void forkFlagsOnJdk25AlsoAllowNativeAccessAndUnsafe()
    {
        assertEquals(Main.ADD_EXPORTS + " " + Main.NATIVE_ACCESS + " " + Main.UNSAFE_ALLOW, Main.forkFlags(25));
        assertEquals(Main.ADD_EXPORTS + " " + Main.NATIVE_ACCESS, Main.forkFlags(22));
    }

    @Test
    void boundedAddsItsPresetAndOneJvmConfiguration()
    {
        assertEquals(List.of("-sc", "false", "-f", "1", "-iters", "1", "-time", "1000", "-jvmArgs", Main.ADD_EXPORTS,
            "-r", "out"), List.of(Main.jcstressArgs(new String[] {"-bounded", "-r", "out"}, 17)));
    }

    @Test
    void boundedYieldsToTheCallersOptions()
    {
        assertEquals(List.of("-sc", "false", "-f", "1", "-time", "1000", "-jvmArgsPrepend", Main.ADD_EXPORTS,
            "-iters", "5", "-jvmArgs", "-Xint"),
            List.of(Main.jcstressArgs(new String[] {"-iters", "5", "-bounded", "-jvmArgs", "-Xint"}, 17)));
    }
}
