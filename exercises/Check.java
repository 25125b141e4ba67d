///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS org.junit.jupiter:junit-jupiter:5.14.1
//DEPS org.junit.platform:junit-platform-launcher:1.14.1
//DEPS org.assertj:assertj-core:3.27.6
//DEPS info.picocli:picocli:4.7.7
//
// What JBang compiles: the days' code the exercises use (day 1: framing, the blocking server;
// day 3: the FFM sockets, the outbox; day 4's epoll binding; day 6's dup3/rlimit binding),
// day 1's test helpers, and the exercises' shared test framework. Never your classes: each
// day's exercises and their tests are compiled by this script at run time, one day at a
// time, so a half-written day 6 cannot stop `./jbang check day01`.
//SOURCES ../day01-blocking/src/main/java/c10k/day01/*.java
//SOURCES ../day01-blocking/src/main/java/c10k/day01/harness/*.java
//SOURCES ../day03-select-poll/src/main/java/c10k/day03/*.java
//SOURCES ../day03-select-poll/src/main/java/c10k/day03/sys/*.java
//SOURCES ../day04-epoll-et/src/main/java/c10k/day04/Epoll.java
//SOURCES ../day06-fd-reuse/src/main/java/c10k/day06/FdCalls.java
//SOURCES ../day01-blocking/src/test/java/c10k/day01/TestClient.java
//SOURCES ../day01-blocking/src/test/java/c10k/day01/Fds.java
//SOURCES ../day01-blocking/src/test/java/c10k/day01/ServerTestBase.java
//SOURCES ../day01-blocking/src/test/java/c10k/day01/NoFdLeak.java
//SOURCES src/test/java/c10k/exercises/*.java

import c10k.exercises.ExerciseRun;
import c10k.exercises.ExerciseRun.Exercise;
import c10k.exercises.ExerciseRun.Outcome;
import c10k.exercises.Hints;
import c10k.exercises.Skeletons;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringWriter;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

/**
 * {@code ./jbang check [dayNN] [--hint N] [--verbose]}: runs the exercise tests against YOUR
 * classes in exercises/src/main/java and prints, per exercise, one verdict: PASS; TODO (not
 * written yet: every {@code TODO} throw of the skeleton is still in your class, or a
 * find-the-bug class is still as given, so its tests are not run); FAIL (written, and a test shows what is wrong, in words). Exit code 0 when
 * every exercise checked passes, 1 while any does not, 2 on a usage error.
 *
 * <p>Each day is compiled on its own ({@code javax.tools}, into a fresh folder) with only its
 * own exercises and tests, then run in this JVM through the JUnit Platform launcher
 * ({@code ExerciseRun}, shared with the build's SkeletonsAreRedTest and MutantsAreRedTest),
 * each test within {@link ExerciseRun#TEST_SECONDS}: an answer that spins is stopped and named.
 * A day that does not compile says where, and the other days are still checked.
 *
 * <p>Hints climb. Shown with a failure: what the test saw, which lesson it breaks, and a
 * question to ask yourself. {@code --hint 2}: the chapter section to re-read. {@code --hint 3}:
 * a concrete nudge. None is the code (see {@link Hints}).
 */
public class Check {

    /** How each level of hint is introduced (level 2 names its section itself: "Re-read day 4's ..."). */
    private static final Map<String, String> LABELS = Map.of("1", "ask yourself: ", "2", "", "3", "nudge: ");

    public static void main(String[] args) throws IOException {
        String day = null;
        boolean verbose = false;
        int hintLevel = 1;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-v") || a.equals("--verbose")) {
                verbose = true;
            } else if (a.equals("-h") || a.equals("--help")) {
                System.out.println(USAGE);
                return;
            } else if (a.equals("--hint") || a.startsWith("--hint=")) {
                String n = a.startsWith("--hint=") ? a.substring(7) : i + 1 < args.length ? args[++i] : "";
                if (!n.matches("[1-3]")) usage("--hint takes 1, 2 or 3, not '" + n + "'");
                hintLevel = Integer.parseInt(n);
            } else if (a.matches("(?i)(day)?0?\\d{1,2}")) {
                day = "day%02d".formatted(Integer.parseInt(a.replaceAll("\\D", "")));
            } else {
                usage("unknown argument '" + a + "'");
            }
        }
        Path root = exercisesDir();
        Path tests = root.resolve("src/test/java/c10k/exercises");
        List<String> days;
        try (Stream<Path> s = Files.list(tests)) {
            days = s.map(p -> p.getFileName().toString()).filter(n -> n.matches("day\\d\\d")).sorted().toList();
        }
        if (day != null) {
            if (!days.contains(day)) {
                System.out.println("check: no exercises found for " + day + " (exercises/src/test/java/c10k/exercises/dayNN/*Test.java)");
                System.exit(2);
            }
            days = List.of(day);
        }

        PrintStream out = System.out;
        PrintStream err = System.err;
        out.println("Checking " + (day == null ? "every day's exercises" : day + "'s exercises")
                + " (each test stops after " + ExerciseRun.TEST_SECONDS + " s)");
        Map<String, String> committed = Skeletons.recorded(tests.resolve("../../../resources/c10k/exercises/skeletons.txt").normalize());
        Report report = new Report(out, hintLevel, verbose);
        // The servers under test log to stdout/stderr (and a skeleton throws on every client):
        // keep that out of the report. --verbose prints it at the end.
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream capture = new PrintStream(log, true);
        for (String d : days) {
            out.println(d);
            ClassLoader loader = compile(root, d, out);
            if (loader == null) {
                report.notCompiled(d);
                continue;
            }
            List<Class<?>> exercises = new ArrayList<>();
            for (String testClass : testClasses(tests.resolve(d), d)) {
                try {
                    exercises.add(Class.forName(testClass, false, loader));
                } catch (ClassNotFoundException e) {
                    throw new IllegalStateException(e);
                }
            }
            exercises.sort(Comparator.comparing(Check::title));   // "1. ...", "2. ...": the order a learner does them
            for (Class<?> c : exercises) {
                String exercise = d + "/" + c.getSimpleName().replaceFirst("Test$", "") + ".java";
                Path source = root.resolve("src/main/java/c10k/exercises").resolve(exercise);
                String recorded = committed.get(exercise);
                if (recorded != null && Files.exists(source)) {
                    String code = Files.readString(source);
                    switch (Skeletons.start(recorded, code)) {
                        case NOT_WRITTEN -> {
                            report.notWritten(title(c), exercise, Skeletons.todoThrows(code));
                            continue;
                        }
                        // Its tests would only tell the symptom's story, which is the learner's to find.
                        case AS_GIVEN -> {
                            report.notStarted(title(c), exercise);
                            continue;
                        }
                        case WRITTEN -> { }
                    }
                }
                Thread t = Thread.currentThread();
                ClassLoader before = t.getContextClassLoader();
                t.setContextClassLoader(loader);
                System.setOut(capture);
                System.setErr(capture);
                try {
                    ExerciseRun.run(List.of(c), ExerciseRun.SETTINGS, report);
                } finally {
                    System.setOut(out);
                    System.setErr(err);
                    t.setContextClassLoader(before);
                }
            }
        }

        out.println();
        out.println(report.passed + " of " + report.total + " exercises pass.");
        if (report.firstFailing == null && report.firstTodo != null) {
            out.println("Next: exercises/src/main/java/c10k/exercises/" + report.firstTodo
                    + " (its Javadoc says what to build, and the chapter sections it builds on).");
        } else if (report.firstFailing != null) {
            String d = report.firstFailing;
            out.println(hintLevel < 3
                    ? "Stuck? The next hint: ./jbang check " + d + " --hint " + (hintLevel + 1)
                            + (verbose ? "" : "; every failing test: ./jbang check " + d + " --verbose")
                    : "Stuck? Read the failing test (exercises/src/test/java/c10k/exercises/" + d + "/) and the day's own"
                            + " server; the finished class is in solutions/src/main/java/c10k/exercises/" + d + "/.");
        }
        if (verbose && log.size() > 0) {
            out.println("\n--- what the servers under test logged ---");
            out.print(log.toString());
        }
        System.exit(report.firstFailing == null && report.firstTodo == null ? 0 : 1);
    }

    /** Compiles one day's exercises and tests into a fresh folder; null (and what is wrong, printed) if they do not compile. */
    private static ClassLoader compile(Path root, String day, PrintStream out) throws IOException {
        List<Path> sources = new ArrayList<>();
        for (String dir : List.of("src/main/java/c10k/exercises/", "src/test/java/c10k/exercises/")) {
            Path d = root.resolve(dir + day);
            if (!Files.isDirectory(d)) continue;
            try (Stream<Path> s = Files.walk(d)) {
                s.filter(p -> p.toString().endsWith(".java")).sorted().forEach(sources::add);
            }
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) throw new IllegalStateException("check needs a JDK (javax.tools), not a JRE");
        Path classes = Files.createTempDirectory("c10k-check-" + day);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(classes)));
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        boolean ok;
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null, null)) {
            List<String> options = List.of("-d", classes.toString(), "-cp", System.getProperty("java.class.path"),
                    "-proc:none", "-nowarn", "-Xlint:none");
            ok = javac.getTask(new StringWriter(), files, diagnostics, options, null, files.getJavaFileObjectsFromPaths(sources)).call();
        }
        if (ok) return new URLClassLoader(new URL[] {classes.toUri().toURL()}, Check.class.getClassLoader());
        out.println("  does not compile (no exercise of " + day + " was checked; the other days are checked apart):");
        int shown = 0;
        for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            if (d.getKind() != Diagnostic.Kind.ERROR) continue;
            if (shown++ == 5) {
                out.println("        ...");
                break;
            }
            String file = d.getSource() == null ? "" : root.relativize(Path.of(d.getSource().toUri())) + ":" + d.getLineNumber() + ": ";
            out.println("        " + file + d.getMessage(null).lines().findFirst().orElse(""));
        }
        return null;
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary folder: the system cleans it up eventually
        }
    }

    private static List<String> testClasses(Path dir, String day) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith("Test.java"))
                    .map(n -> "c10k.exercises." + day + "." + n.replaceFirst("\\.java$", "")).sorted().toList();
        }
    }

    private static String title(Class<?> testClass) {
        var name = testClass.getAnnotation(org.junit.jupiter.api.DisplayName.class);
        return name == null ? testClass.getSimpleName() : name.value();
    }

    /** The exercises folder: where this is run from, or above it (./jbang runs from anywhere inside the repo). */
    private static Path exercisesDir() {
        for (Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("exercises/src/test/java/c10k/exercises"))) return p.resolve("exercises");
            if (Files.isDirectory(p.resolve("src/test/java/c10k/exercises")) && p.endsWith("exercises")) return p;
        }
        usage("run it from inside the workbook's folder (where exercises/ is)");
        return null;
    }

    /** Prints as the tests run: the exercise's name when it starts, its verdict when it ends. */
    private static final class Report implements ExerciseRun.Progress {
        private final PrintStream out;
        private final int hintLevel;
        private final boolean verbose;
        int total;
        int passed;
        /** The day of the first exercise that is written and fails (or does not compile). */
        String firstFailing;
        /** The first exercise not written yet ("day01/LineSplitter.java"). */
        String firstTodo;

        Report(PrintStream out, int hintLevel, boolean verbose) {
            this.out = out;
            this.hintLevel = hintLevel;
            this.verbose = verbose;
        }

        void notCompiled(String day) {
            total++;
            if (firstFailing == null) firstFailing = day;
        }

        void notWritten(String title, String file, int todos) {
            total++;
            if (firstTodo == null) firstTodo = file;
            out.println("  " + title + " ... TODO  (not written yet: " + file.substring(file.indexOf('/') + 1)
                    + " still throws at its " + (todos == 1 ? "TODO" : todos + " TODOs") + "; its tests were not run)");
        }

        void notStarted(String title, String file) {
            total++;
            if (firstTodo == null) firstTodo = file;
            out.println("  " + title + " ... TODO  (find the bug: " + file.substring(file.indexOf('/') + 1)
                    + " is as given; its tests reproduce the symptom its Javadoc describes, and say what they saw once you have changed it)");
        }

        @Override
        public void started(String day, String title) {
            out.print("  " + title + " ... ");
            out.flush();
        }

        @Override
        public void finished(Exercise e) {
            total++;
            if (e.skipped()) {
                out.println("SKIP  (" + e.skipReason() + ")");
                return;
            }
            long ok = e.outcomes().stream().filter(Outcome::passed).count();
            if (e.passed()) {
                passed++;
                out.println("PASS  (" + ok + " tests)");
                return;
            }
            // Written, but it runs through an exercise that is not (day 3's second through its
            // first, day 6's second through its first): say that, not "wrong".
            List<String> why = e.outcomes().stream().filter(o -> !o.passed()).map(o -> ExerciseRun.hint(o.failure(), 1)).toList();
            if (why.stream().allMatch(w -> w.startsWith("not written yet"))) {
                if (firstTodo == null) firstTodo = e.day() + "/" + e.exerciseClass() + ".java";
                out.println("TODO  (" + why.getFirst() + ")");
                return;
            }
            if (firstFailing == null) firstFailing = e.day();
            out.println("FAIL  (" + ok + " of " + e.outcomes().size() + " tests pass)");
            Outcome first = null;
            for (Outcome o : e.outcomes()) {
                if (o.passed()) continue;
                if (first == null) first = o;
                out.println("        " + simpleName(e.testClass()) + "." + o.method() + ":");
                out.println(indent(ExerciseRun.hint(o.failure(), verbose ? 12 : 4), "          "));
                if (!verbose) break;   // the first failing test only; --verbose shows every one
            }
            List<String> hints = hintsOf(e, first == null ? null : first.method());
            for (int level = 1; level <= Math.min(hintLevel, hints.size()); level++) {
                out.println(indent(LABELS.get(String.valueOf(level)) + hints.get(level - 1), "        "));
            }
        }
    }

    /** The hints of the exercise, the failing test's own over its class's. */
    private static List<String> hintsOf(Exercise e, String failingMethod) {
        try {
            Class<?> c = Class.forName(e.testClass(), false, Thread.currentThread().getContextClassLoader());
            return ExerciseRun.hints(c, failingMethod);
        } catch (ClassNotFoundException ex) {
            return List.of();
        }
    }

    private static void usage(String problem) {
        System.err.println("check: " + problem + "\n" + USAGE);
        System.exit(2);
    }

    private static final String USAGE = """
            usage: ./jbang check [dayNN] [--hint N] [--verbose]
              Compiles that day's exercises (or each day's, one day at a time) and runs their tests
              against your classes in exercises/src/main/java. Per exercise: PASS, TODO (not written
              yet, or a find-the-bug class still as given: its tests are not run) or FAIL (written, and wrong: what a test saw, in words).
              Exit code 0 when all pass, 1 while any does not.
              dayNN      only that day's exercises (day01, 1, day4 ... all work)
              --hint N   with each failure: 1 a question to ask yourself, 2 also the chapter section
                         to re-read, 3 also a concrete nudge (never the code: that is in solutions/)
              --verbose  every failing test with its whole message (where a test plays threads against
                         each other, the story: which thread was where, at which step), and what the
                         servers logged""";

    private static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }

    private static String indent(String text, String prefix) {
        return prefix + text.replace("\n", "\n" + prefix);
    }
}
