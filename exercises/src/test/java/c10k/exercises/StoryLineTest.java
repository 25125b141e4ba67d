package c10k.exercises;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** A failure's story (which thread was where) is for --verbose; the first lines say what the client saw. */
class StoryLineTest {

    private static final String SAW = "the client read \"ab\" where it expected \"ba\": two writers on one fd";
    private static final String STORY = ExerciseRun.STORY + " a worker replied; then the loop flushed";

    @Test
    void theStoryIsLeftOutOfTheShortReportAndKeptInTheVerboseOne() {
        AssertionError failure = new AssertionError(SAW + "\n  " + STORY);
        assertThat(ExerciseRun.hint(failure, 4)).isEqualTo(SAW);
        assertThat(ExerciseRun.hint(failure, 12)).isEqualTo(SAW + "\n" + STORY);
    }

    @Test
    void anAssertJDescriptionLosesItsStoryToo() {
        assertThatThrownBy(() -> assertThat(false).as(SAW + "\n  " + STORY).isTrue())
                .satisfies(t -> {
                    assertThat(ExerciseRun.hint(t, 4)).isEqualTo(SAW);
                    assertThat(ExerciseRun.hint(t, 12)).contains(STORY);
                });
    }
}
