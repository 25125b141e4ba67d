package c10k.exercises;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.exercises.ExerciseRun.Exercise;
import c10k.exercises.ExerciseRun.Outcome;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The guard of the exercises module, and the only test the build runs there: every exercise
 * test, run against the untouched skeletons, must FAIL. A test that passes on a skeleton
 * does not check the exercise: a learner would see "PASS" before writing a line.
 *
 * <p>(The same tests must pass against ../solutions: that module runs them for real.)
 */
class SkeletonsAreRedTest {

    @Test
    void everyExerciseTestFailsOnTheSkeletons() {
        Map<String, List<Exercise>> days = ExerciseRun.run(null, Map.of(
                "junit.jupiter.execution.timeout.default", "60 s",
                "junit.jupiter.execution.timeout.lifecycle.method.default", "30 s"));
        assertThat(days).as("exercise test classes found (c10k.exercises.dayNN.*Test)").isNotEmpty();

        List<String> green = new ArrayList<>();
        int ran = 0;
        for (List<Exercise> exercises : days.values()) {
            for (Exercise e : exercises) {
                if (e.skipped()) continue;   // e.g. epoll tests off Linux
                assertThat(e.outcomes()).as(e.testClass() + " ran no test").isNotEmpty();
                for (Outcome o : e.outcomes()) {
                    ran++;
                    if (o.status() != org.junit.platform.engine.TestExecutionResult.Status.FAILED) {
                        green.add(e.testClass() + "." + o.method() + " (" + o.status() + ")");
                    }
                }
            }
        }
        System.out.println(ran + " exercise tests ran against the skeletons, in " + days.keySet());
        assertThat(green)
                .as("these tests do not fail on the skeleton, so they do not check the exercise"
                        + " (an ABORTED test was skipped by an assumption: it checks nothing either)")
                .isEmpty();
    }
}
