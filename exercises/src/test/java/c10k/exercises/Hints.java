package c10k.exercises;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * An exercise's hints, climbing, for {@code ./jbang check dayNN [--hint N]}. What the failing
 * test saw (what went wrong, and which lesson it breaks) always comes first; then
 * {@code value()[0]}, a question to ask yourself, printed with it; {@code value()[1]} (hint 2)
 * the chapter section to re-read and what to look for there; {@code value()[2]} (hint 3) a
 * concrete nudge. None is the code: that is solutions/.
 *
 * <p>On a test class, for the exercise; on a test method, for that failure: a test that
 * catches one precise mistake carries hints about that mistake, so the hint after its message
 * is never vaguer than the message (it replaces the class's hint of the same level).
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
public @interface Hints {
    String[] value();

}
