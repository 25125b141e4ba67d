package c10k.exercises;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.exercises.Skeletons.Start;
import org.junit.jupiter.api.Test;

/**
 * What {@code ./jbang check} tells before it runs anything: "not written yet" apart from
 * "written, and wrong", and a find-the-bug class still as given apart from one the learner has
 * changed, so that the threads' story in its tests' messages never does the finding for them.
 * Comments never count: writing down the instant found is not a change of code.
 */
class SkeletonsTest {

    private static final String BUILD = """
            class A {
                /** Build it. */
                int f() {
                    // TODO
                    throw new UnsupportedOperationException("TODO: A.f");
                }
            }
            """;

    private static final String FIND_THE_BUG = """
            class B {
                int f(int x) {
                    return x > 0 ? x : 0;
                }
            }
            """;

    private static String recorded(String skeleton) {
        return Skeletons.fingerprint(skeleton) + " " + Skeletons.todoThrows(skeleton);
    }

    @Test
    void aSkeletonWithEveryTodoThrowLeftIsNotWrittenYet() {
        String learner = BUILD.replace("/** Build it. */", "/** Build it: my notes so far. */");
        assertThat(Skeletons.start(recorded(BUILD), learner)).isEqualTo(Start.NOT_WRITTEN);
    }

    @Test
    void aTodoThrowReplacedIsTheLearnersWork() {
        String learner = BUILD.replace("throw new UnsupportedOperationException(\"TODO: A.f\");", "return 1;");
        assertThat(Skeletons.start(recorded(BUILD), learner)).isEqualTo(Start.WRITTEN);
    }

    @Test
    void aFindTheBugClassWithOnlyCommentsAddedIsStillAsGiven() {
        String learner = FIND_THE_BUG.replace("int f(int x) {", "int f(int x) { // the bug: x == 0?");
        assertThat(recorded(FIND_THE_BUG)).endsWith(" 0");
        assertThat(Skeletons.start(recorded(FIND_THE_BUG), learner)).isEqualTo(Start.AS_GIVEN);
    }

    @Test
    void aFindTheBugClassWhoseCodeChangedIsTheLearnersWork() {
        String learner = FIND_THE_BUG.replace("x > 0", "x >= 0");
        assertThat(Skeletons.start(recorded(FIND_THE_BUG), learner)).isEqualTo(Start.WRITTEN);
    }
}
