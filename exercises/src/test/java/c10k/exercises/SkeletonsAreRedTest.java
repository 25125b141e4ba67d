package c10k.exercises;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.exercises.ExerciseRun.Exercise;
import c10k.exercises.ExerciseRun.Outcome;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The guard of the exercises module, and the only test the build runs there: every exercise
 * test, run against the untouched skeletons, must FAIL. A test that passes on a skeleton
 * does not check the exercise: a learner would see "PASS" before writing a line.
 *
 * <p><b>Which skeletons are untouched.</b> The same working tree is a learner's workbench:
 * once they solve an exercise, its tests pass, as they should, and {@code ./mvnw verify} must
 * not fail because of it. So the proof runs on the skeletons that are still the committed
 * ones, and only on those. {@code skeletons.txt} (beside this class, in src/test/resources)
 * records, for each committed skeleton, a fingerprint of its <em>code</em> (SHA-256 of the
 * source with comments and whitespace removed, so rewording a hint or a TODO does not change
 * it) and how many {@code throw new UnsupportedOperationException("TODO ...")} it has. A
 * skeleton is in the proof, and every test of its exercise must fail, if its code still has
 * that fingerprint, or if it still has every one of its TODO throws (then no method of it has
 * been written, whatever else changed). A skeleton with a TODO throw replaced is the
 * learner's work, and is left to {@code ./jbang check} (its tests are not run here at all).
 * On a clean clone, CI's case, every skeleton is untouched, so the proof covers every
 * exercise test.
 *
 * <p>Why not just "does it still throw UnsupportedOperationException somewhere?": a learner
 * half-way through an exercise (one of two methods written) still throws, and some of its
 * tests then rightly pass. Counting the TODO throws against the committed number separates
 * that learner from a test that checks nothing; the fingerprint covers an author who
 * rewrites a skeleton's given code. An author who changes how many TODO throws a skeleton
 * has updates its line (this test prints the current lines, in the surefire report); a
 * skeleton with no line fails the build, so a new exercise cannot skip the proof.
 *
 * <p>A find-the-bug exercise has no TODO (its line in skeletons.txt says 0): its skeleton is
 * a working class with one bug, and the tests its bug does not touch rightly pass on it. For
 * those, at least one test must fail on the committed skeleton (the symptom), and only the
 * fingerprint says whether it is still the committed one.
 *
 * <p>(The same tests must pass against ../solutions: that module runs them for real, and
 * {@code MutantsAreRedTest} there proves they fail on the classic wrong answers too.)
 */
class SkeletonsAreRedTest {

    private static final Path SKELETONS = moduleDir().resolve("src/main/java/c10k/exercises");

    @Test
    void everyExerciseTestFailsOnTheUntouchedSkeletons() throws IOException {
        Map<String, String> recorded = recordedFingerprints();
        Map<String, String> current = currentFingerprints();
        StringBuilder lines = new StringBuilder();
        current.forEach((file, fp) -> lines.append(file).append(' ').append(fp).append('\n'));
        System.out.println("skeletons.txt, as the skeletons are now:\n" + lines);

        assertThat(current.keySet())
                .as("every skeleton needs its fingerprint in exercises/src/test/resources/c10k/exercises/skeletons.txt"
                        + " (the lines are printed above, in the surefire report)")
                .isSubsetOf(recorded.keySet());

        List<String> changed = new ArrayList<>();
        for (var e : current.entrySet()) {
            String[] now = e.getValue().split(" ");
            String[] then = recorded.get(e.getKey()).split(" ");
            boolean sameCode = now[0].equals(then[0]);
            // A skeleton with no TODO throw (a given server with a bug to find) is the committed one
            // only while its code is.
            boolean everyTodoLeft = then.length > 1 && Integer.parseInt(then[1]) > 0
                    && Integer.parseInt(now[1]) >= Integer.parseInt(then[1]);
            if (!sameCode && everyTodoLeft) {
                System.out.println("SkeletonsAreRedTest: " + e.getKey() + " has new code but every TODO of the committed"
                        + " skeleton: still proven red. (Author: its line in skeletons.txt is now: " + e.getKey() + " "
                        + e.getValue() + ")");
            }
            if (!sameCode && !everyTodoLeft) changed.add(e.getKey());
        }
        List<String> excluded = changed.stream()
                .map(f -> "c10k.exercises." + f.replace(".java", "Test").replace('/', '.'))
                .toList();
        for (String f : changed) {
            System.out.println("SkeletonsAreRedTest: " + f + " is no longer the committed skeleton (your work, we hope):"
                    + " not part of this proof. ./jbang check " + f.substring(0, f.indexOf('/')) + " checks it.");
        }
        if (changed.size() == current.size()) {
            System.out.println("SkeletonsAreRedTest: every skeleton has been worked on; nothing left to prove red here.");
            return;
        }

        Map<String, List<Exercise>> days = ExerciseRun.run(null, excluded, ExerciseRun.SETTINGS, new ExerciseRun.Progress() { });
        assertThat(days).as("exercise test classes found (c10k.exercises.dayNN.*Test)").isNotEmpty();

        List<String> green = new ArrayList<>();
        List<String> bugsNotShown = new ArrayList<>();
        int ran = 0;
        for (List<Exercise> exercises : days.values()) {
            for (Exercise e : exercises) {
                if (e.skipped()) continue;   // e.g. epoll tests off Linux
                assertThat(e.outcomes()).as(e.testClass() + " ran no test").isNotEmpty();
                // A find-the-bug exercise (no TODO: the skeleton is a working class with one bug)
                // passes the tests its bug does not touch; at least one test must show the symptom.
                String skeleton = e.day() + "/" + e.exerciseClass() + ".java";
                String rec = recorded.get(skeleton);
                boolean bugHunt = rec != null && rec.split(" ").length > 1 && rec.split(" ")[1].equals("0");
                boolean shown = false;
                for (Outcome o : e.outcomes()) {
                    ran++;
                    boolean failed = o.status() == org.junit.platform.engine.TestExecutionResult.Status.FAILED;
                    shown |= failed;
                    if (!failed && !bugHunt) {
                        green.add(e.testClass() + "." + o.method() + " (" + o.status() + ")");
                    }
                }
                if (bugHunt && !shown) bugsNotShown.add(e.testClass());
            }
        }
        assertThat(bugsNotShown)
                .as("find-the-bug exercises whose given skeleton passes every test: no test shows the symptom")
                .isEmpty();
        System.out.println(ran + " exercise tests ran against the untouched skeletons, in " + days.keySet());
        assertThat(green)
                .as("these tests do not fail on the untouched skeleton, so they do not check the exercise"
                        + " (an ABORTED test was skipped by an assumption: it checks nothing either)")
                .isEmpty();
    }

    /** The exercises module's folder: surefire's basedir, or the working directory. */
    private static Path moduleDir() {
        Path base = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        return Files.isDirectory(base.resolve("src/main/java/c10k/exercises")) ? base : base.resolve("exercises");
    }

    private static Map<String, String> recordedFingerprints() throws IOException {
        Map<String, String> map = new TreeMap<>();
        try (InputStream in = SkeletonsAreRedTest.class.getResourceAsStream("skeletons.txt")) {
            assertThat(in).as("skeletons.txt beside SkeletonsAreRedTest (src/test/resources/c10k/exercises)").isNotNull();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\\R")) {
                line = line.strip();
                if (line.isEmpty() || line.startsWith("#")) continue;
                String[] parts = line.split("\\s+");
                map.put(parts[0], parts.length > 2 ? parts[1] + " " + parts[2] : parts[1]);
            }
        }
        return map;
    }

    /** dayNN/Class.java -> "fingerprint todoThrows", for every skeleton in exercises/src/main/java. */
    static Map<String, String> currentFingerprints() throws IOException {
        Map<String, String> map = new TreeMap<>();
        try (Stream<Path> files = Files.walk(SKELETONS)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String rel = SKELETONS.relativize(p).toString().replace('\\', '/');
                if (!rel.matches("day\\d\\d/[^/]+\\.java")) continue;
                String source = Files.readString(p);
                map.put(rel, Skeletons.fingerprint(source) + " " + Skeletons.todoThrows(source));
            }
        }
        return map;
    }
}
