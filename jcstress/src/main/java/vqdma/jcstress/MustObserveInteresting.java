package vqdma.jcstress;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a deliberately weakened variant whose {@code ACCEPTABLE_INTERESTING} outcome must be observed at least once
 * in a run, or the run fails ({@link ResultCheck}).
 * <p>
 * jcstress by itself only fails on forbidden outcomes; it cannot say "this must happen". But a fence proven
 * necessary is worth more than a fence that merely did no harm: if the variant without the fence never misbehaves,
 * the test of the variant with it proves nothing on this machine. A weakened variant whose reordering cannot happen
 * on the hardware (x86 reorders only a store with a later load) is not annotated.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface MustObserveInteresting
{
    /** @return what the interesting outcome shows, for the failure message. */
    String value();
}
