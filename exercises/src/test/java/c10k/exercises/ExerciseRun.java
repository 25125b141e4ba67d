package c10k.exercises;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.platform.engine.DiscoverySelector;
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
 * by exercise (one test class = one exercise). Used by {@code SkeletonsAreRedTest} and
 * {@code MutantsAreRedTest} in the build and by {@code ./jbang check} (exercises/Check.java)
 * on the learner's machine.
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

        /** The class the learner writes: the test class's name without "Test". */
        public String exerciseClass() {
            return testClass.substring(testClass.lastIndexOf('.') + 1).replaceFirst("Test$", "");
        }
    }

    /** Told as the run goes, so a learner sees progress from the first second. */
    public interface Progress {
        /** An exercise's tests begin. */
        default void started(String day, String title) {
        }

        /** An exercise's tests are done (or were skipped). */
        default void finished(Exercise exercise) {
        }
    }

    /**
     * How long one exercise test may run. A correct answer needs well under a second; the
     * longest test streams 32 MiB through a selector loop. A spinning answer (a loop that
     * never ends) is stopped after this, in words, rather than after a minute.
     */
    public static final int TEST_SECONDS = 10;

    /** The time limit for a @BeforeEach/@AfterEach (where servers are closed). */
    public static final int LIFECYCLE_SECONDS = 10;

    /**
     * The launcher's settings for exercise tests. Exercises run day by day, in their
     * numbers' order ({@link ExerciseOrder}). SEPARATE_THREAD: a test whose code spins
     * without ever blocking (no interrupt can stop it) is abandoned at its time limit and the
     * run goes on, instead of hanging for good. Test classes that inherit a longer
     * {@code @Timeout} (day 1's {@code ServerTestBase}) declare {@code @Timeout(TEST_SECONDS)}.
     */
    public static final Map<String, String> SETTINGS = Map.of(
            "junit.jupiter.testclass.order.default", ExerciseOrder.class.getName(),
            "junit.jupiter.execution.timeout.default", TEST_SECONDS + " s",
            "junit.jupiter.execution.timeout.lifecycle.method.default", LIFECYCLE_SECONDS + " s",
            "junit.jupiter.execution.timeout.thread.mode.default", "SEPARATE_THREAD");

    private static final Pattern DAY = Pattern.compile("c10k\\.exercises\\.(day\\d\\d)\\..*");

    private ExerciseRun() {
    }

    /**
     * Runs the exercises of {@code day} ("day01"), or of every day if {@code day} is null, and
     * returns them by day, then by their display name (which starts with the exercise number).
     */
    public static Map<String, List<Exercise>> run(String day, Map<String, String> configuration) {
        return run(day, List.of(), configuration, new Progress() { });
    }

    /** As {@link #run(String, Map)}, leaving out the test classes named in {@code exclude}, telling {@code progress}. */
    public static Map<String, List<Exercise>> run(String day, Collection<String> exclude, Map<String, String> configuration,
            Progress progress) {
        String pattern = "c10k\\.exercises\\." + (day == null ? "day\\d\\d" : Pattern.quote(day)) + "\\.[^.$]+Test";
        var builder = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectPackage("c10k.exercises"))
                .filters(ClassNameFilter.includeClassNamePatterns(pattern))
                .configurationParameters(configuration);
        if (!exclude.isEmpty()) {
            builder.filters(ClassNameFilter.excludeClassNamePatterns(
                    exclude.stream().map(Pattern::quote).toArray(String[]::new)));
        }
        return execute(builder.build(), progress);
    }

    /**
     * Runs the given test classes, which may come from another class loader: how
     * {@code MutantsAreRedTest} runs the very same tests against a wrong version of a class.
     */
    public static Map<String, List<Exercise>> run(List<Class<?>> testClasses, Map<String, String> configuration) {
        return run(testClasses, configuration, new Progress() { });
    }

    /**
     * As {@link #run(List, Map)}, telling {@code progress}: how {@code ./jbang check} runs one
     * day's tests, compiled on their own so that another day's half-written code cannot stop them.
     */
    public static Map<String, List<Exercise>> run(List<Class<?>> testClasses, Map<String, String> configuration,
            Progress progress) {
        List<DiscoverySelector> selectors = new ArrayList<>();
        for (Class<?> c : testClasses) selectors.add(selectClass(c));
        return execute(LauncherDiscoveryRequestBuilder.request().selectors(selectors)
                .configurationParameters(configuration).build(), progress);
    }

    /** Runs what the selectors name (classes, or single test methods). */
    public static Map<String, List<Exercise>> runSelected(List<? extends DiscoverySelector> selectors, Map<String, String> configuration) {
        return execute(LauncherDiscoveryRequestBuilder.request().selectors(selectors)
                .configurationParameters(configuration).build(), new Progress() { });
    }

    private static Map<String, List<Exercise>> execute(LauncherDiscoveryRequest request, Progress progress) {
        Map<String, Exercise> byClass = new LinkedHashMap<>();
        TestExecutionListener listener = new TestExecutionListener() {
            @Override
            public void executionStarted(TestIdentifier id) {
                if (id.getSource().orElse(null) instanceof ClassSource cs && DAY.matcher(cs.getClassName()).matches()) {
                    progress.started(dayOf(cs.getClassName()), id.getDisplayName());
                }
            }

            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                if (id.getSource().orElse(null) instanceof ClassSource cs && DAY.matcher(cs.getClassName()).matches()) {
                    Exercise e = new Exercise(dayOf(cs.getClassName()), cs.getClassName(),
                            id.getDisplayName(), new ArrayList<>(), true, reason);
                    byClass.put(cs.getClassName(), e);
                    progress.finished(e);
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
                    progress.finished(e);
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

    /**
     * A line of a failure's message that starts with {@value #STORY}: which thread was where, at
     * which step, when the test played the interleaving that failed. It is shown with
     * {@code --verbose} only: the first lines say what the client saw and which lesson that
     * breaks; a learner who wants the threads' story step by step asks for it.
     */
    public static final String STORY = "the story:";

    /** The story's line, up to the "]" that closes an AssertJ description, if it ends one. */
    private static final Pattern STORY_LINE = Pattern.compile("(?m)\\R[ \\t]*" + STORY + ".*?(?=\\] ?$|$)");

    private static final Pattern TIMED_OUT = Pattern.compile("(\\w+)\\(\\) timed out after (\\d+) (\\w+)");

    /**
     * The first lines of a failure's message: the hint a learner reads. What a stack trace
     * says in the JVM's words (a timeout, an index out of bounds, a null) is said in the
     * lesson's words, with the line of the learner's code where it happened.
     */
    public static String hint(Throwable t, int maxLines) {
        if (t == null) return "(no message)";
        String words = inWords(t);
        if (words == null) words = exceptionInWords(t);
        if (words != null) return words;
        String message = t.getMessage();
        if (message != null && maxLines <= 4) message = STORY_LINE.matcher(message).replaceAll("");
        if (t instanceof UnsupportedOperationException && message != null && message.startsWith("TODO")) {
            return "not written yet: " + message.replaceFirst("^TODO:?\\s*", "");
        }
        if (t instanceof AssertionError && message != null && message.startsWith("[") && maxLines <= 4) {
            // AssertJ: "[what the test says] expected ... but was ...": the first part teaches.
            int end = message.indexOf("]\n");
            if (end < 0) end = message.indexOf("] \n");
            if (end > 0) return message.substring(1, end).strip() + causeInWords(t) + afterwards(t);
        }
        String text = t instanceof AssertionError || message == null
                ? String.valueOf(message)
                : t.getClass().getSimpleName() + ": " + message + where(t);
        String[] lines = text.strip().split("\\R");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(maxLines, lines.length); i++) {
            if (i > 0) sb.append('\n');
            sb.append(lines[i].strip());
        }
        if (lines.length > maxLines) sb.append(" ...");
        if (t instanceof AssertionError) sb.append(causeInWords(t));
        sb.append(afterwards(t));
        return sb.toString();
    }

    /** What went wrong after the test, while closing its server (JUnit adds it as "suppressed"). */
    private static String afterwards(Throwable t) {
        for (Throwable s : t.getSuppressed()) {
            String w = inWords(s);
            String text = w != null ? w : s.getMessage() == null ? s.toString() : s.getMessage().strip().split("\\R")[0];
            return "\n  and then: " + text;
        }
        return "";
    }

    /** A time limit, or an exception that says "your code" better in words; else null. */
    static String inWords(Throwable t) {
        if (t instanceof TimeoutException && t.getMessage() != null) {
            Matcher m = TIMED_OUT.matcher(t.getMessage());
            if (m.find()) {
                String method = m.group(1);
                String limit = m.group(2) + " " + (m.group(3).startsWith("sec") ? "s" : m.group(3));
                if (method.startsWith("closeServer") || method.startsWith("close") || method.startsWith("start")) {
                    return "the server did not shut down within " + limit + " after the test: is your code still"
                            + " running, in a loop that never ends? A loop must end on read() == -1 (end of stream),"
                            + " on EAGAIN, and when the socket is closed under it";
                }
                return "your code did not return within " + limit + " (the test " + method + " was stopped): a loop"
                        + " that never ends? Did you handle read() == -1 (end of stream) and EAGAIN"
                        + " (Sockets.WOULD_BLOCK), and stop at the budget?";
            }
        }
        return null;
    }

    /** For a test's assertion that carries what the learner's code threw on a server thread. */
    private static String causeInWords(Throwable assertion) {
        for (Throwable c = assertion.getCause(); c != null; c = c.getCause()) {
            String w = exceptionInWords(c);
            if (w != null) return "\n  " + w;
        }
        return "";
    }

    private static String exceptionInWords(Throwable t) {
        if (t instanceof IndexOutOfBoundsException) {
            return "you read or wrote past the end of a buffer (" + t.getClass().getSimpleName() + ": " + t.getMessage() + where(t)
                    + "): only buf[0, n) holds data, where n is what the call returned; and an offset plus a length"
                    + " must stay inside the array";
        }
        if (t instanceof NullPointerException) {
            return "your code used a null (" + t.getMessage() + where(t) + ")";
        }
        return null;
    }

    /** " at EchoLoop.java:42": the first frame of the learner's own code, if any. */
    static String where(Throwable t) {
        for (StackTraceElement f : t.getStackTrace()) {
            String c = f.getClassName();
            String top = c.replaceFirst("\\$.*", "");
            boolean given = top.endsWith("Test") || top.endsWith("Harness") || top.endsWith("Pair") || top.endsWith("Flood");
            if (DAY.matcher(c).matches() && !given && f.getFileName() != null) {
                return ", at " + f.getFileName() + ":" + f.getLineNumber();
            }
        }
        return "";
    }

    /** Hints by level (index 0: the question), the failing method's over its class's. */
    public static List<String> hints(Class<?> testClass, String failingMethod) {
        List<String> hints = new ArrayList<>();
        Hints h = testClass.getAnnotation(Hints.class);
        if (h != null) hints.addAll(List.of(h.value()));
        for (Class<?> c = testClass; c != null && failingMethod != null; c = c.getSuperclass()) {
            for (Method m : c.getDeclaredMethods()) {
                Hints mh = m.getName().equals(failingMethod) ? m.getAnnotation(Hints.class) : null;
                if (mh == null) continue;
                for (int i = 0; i < mh.value().length; i++) {
                    if (mh.value()[i].isEmpty()) continue;   // "": the class's hint of that level
                    if (i < hints.size()) hints.set(i, mh.value()[i]);
                    else hints.add(mh.value()[i]);
                }
                return hints;
            }
        }
        return hints;
    }
}
