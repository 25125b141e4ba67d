package c10k.exercises;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.ClassNameFilter;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs the exercise tests in-process with the JUnit Platform launcher and sorts the outcome
 * by exercise (one test class = one exercise). Used by {@code SkeletonsAreRedTest} in the
 * build and by {@code ./jbang check} (exercises/Check.java) on the learner's machine.
 *
 * <p>Exercises are found by convention: test classes named {@code *Test} in the packages
 * {@code c10k.exercises.dayNN}, so a new day needs no change here.
 */
public final class ExerciseRun {

    /** One test method's outcome. */
    public record Outcome(String method, TestExecutionResult.Status status, Throwable failure) {
        public boolean passed() {
            return status == TestExecutionResult.Status.SUCCESSFUL;
        }
    }

    /** One exercise: its test class, display name ("1. LineSplitter: ..."), and the outcomes. */
    public record Exercise(String day, String testClass, String title, List<Outcome> outcomes, boolean skipped, String skipReason) {
        public boolean passed() {
            return !skipped && !outcomes.isEmpty() && outcomes.stream().allMatch(Outcome::passed);
        }

        public Optional<Outcome> firstFailure() {
            return outcomes.stream().filter(o -> !o.passed()).findFirst();
        }
    }

    private static final Pattern DAY = Pattern.compile("c10k\\.exercises\\.(day\\d\\d)\\..*");

    private ExerciseRun() {
    }

    /**
     * Runs the exercises of {@code day} ("day01"), or of every day if {@code day} is null, and
     * returns them by day, then by their display name (which starts with the exercise number).
     */
    public static Map<String, List<Exercise>> run(String day, Map<String, String> configuration) {
        String pattern = "c10k\\.exercises\\." + (day == null ? "day\\d\\d" : Pattern.quote(day)) + "\\.[^.$]+Test";
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectPackage("c10k.exercises"))
                .filters(ClassNameFilter.includeClassNamePatterns(pattern))
                .configurationParameters(configuration)
                .build();
        Map<String, Exercise> byClass = new LinkedHashMap<>();
        TestExecutionListener listener = new TestExecutionListener() {
            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                if (id.getSource().orElse(null) instanceof ClassSource cs && DAY.matcher(cs.getClassName()).matches()) {
                    byClass.put(cs.getClassName(), new Exercise(dayOf(cs.getClassName()), cs.getClassName(),
                            id.getDisplayName(), new ArrayList<>(), true, reason));
                }
            }

            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                Object source = id.getSource().orElse(null);
                if (source instanceof ClassSource cs && DAY.matcher(cs.getClassName()).matches()) {
                    Exercise e = exercise(cs.getClassName(), id.getDisplayName());
                    // A failure outside any test method (e.g. in @BeforeAll) fails the exercise.
                    if (result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                        e.outcomes().add(new Outcome("(class)", result.getStatus(), result.getThrowable().orElse(null)));
                    }
                } else if (source instanceof MethodSource ms && id.isTest()) {
                    Exercise e = exercise(ms.getClassName(), null);
                    e.outcomes().add(new Outcome(ms.getMethodName(), result.getStatus(), result.getThrowable().orElse(null)));
                }
            }

            private Exercise exercise(String className, String title) {
                Exercise e = byClass.computeIfAbsent(className,
                        c -> new Exercise(dayOf(c), c, title, new ArrayList<>(), false, null));
                if (title != null && e.title() == null) {
                    e = new Exercise(e.day(), e.testClass(), title, e.outcomes(), e.skipped(), e.skipReason());
                    byClass.put(className, e);
                }
                return e;
            }
        };
        LauncherFactory.create().execute(request, listener);
        Map<String, List<Exercise>> byDay = new TreeMap<>();
        for (Exercise e : byClass.values()) byDay.computeIfAbsent(e.day(), d -> new ArrayList<>()).add(e);
        for (List<Exercise> list : byDay.values()) list.sort((a, b) -> String.valueOf(a.title()).compareTo(String.valueOf(b.title())));
        return byDay;
    }

    private static String dayOf(String className) {
        var m = DAY.matcher(className);
        return m.matches() ? m.group(1) : "?";
    }

    /** The first lines of a failure's message: the hint a learner reads. */
    public static String hint(Throwable t, int maxLines) {
        if (t == null) return "(no message)";
        String message = t.getMessage();
        if (t instanceof UnsupportedOperationException && message != null && message.startsWith("TODO")) {
            return "not written yet: " + message;
        }
        if (t instanceof AssertionError && message != null && message.startsWith("[") && maxLines <= 4) {
            // AssertJ: "[what the test says] expected ... but was ...": the first part teaches.
            int end = message.indexOf("]\n");
            if (end < 0) end = message.indexOf("] \n");
            if (end > 0) return message.substring(1, end).strip();
        }
        String text = t instanceof AssertionError || message == null
                ? String.valueOf(message)
                : t.getClass().getSimpleName() + ": " + message;
        String[] lines = text.strip().split("\\R");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(maxLines, lines.length); i++) {
            if (i > 0) sb.append('\n');
            sb.append(lines[i].strip());
        }
        if (lines.length > maxLines) sb.append(" ...");
        return sb.toString();
    }
}
