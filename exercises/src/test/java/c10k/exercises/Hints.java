package c10k.exercises;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * An exercise's hints after the first, from general to specific, for {@code ./jbang check
 * dayNN --hint N}. Hint 1 is always the failing test's own message (what went wrong); hint 2
 * is {@code value()[0]}, and so on. Hints point at the contract and the question to ask, the
 * chapter section that answers it, and only at the end at the shape of the answer: never the
 * answer in code (that is solutions/).
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface Hints {
    String[] value();
}
