///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS org.junit.jupiter:junit-jupiter:5.14.1
//DEPS org.junit.platform:junit-platform-launcher:1.14.1
//DEPS org.assertj:assertj-core:3.27.6
//DEPS info.picocli:picocli:4.7.7
//
// The days' code the exercises use, and only that, so that a check compiles fast and does
// not depend on servers it never runs: day 1 (framing, the blocking server), day 3 (the FFM
// sockets, the outbox), day 4's epoll binding, day 6's dup3/rlimit binding. An exercise that
// uses more of a day adds its file (or the day's *.java) here.
//SOURCES ../day01-blocking/src/main/java/c10k/day01/*.java
//SOURCES ../day03-select-poll/src/main/java/c10k/day03/*.java
//SOURCES ../day04-epoll-et/src/main/java/c10k/day04/Epoll.java
//SOURCES ../day06-fd-reuse/src/main/java/c10k/day06/Fds.java
// Day 1's test helpers (a client with timeouts, the fd-leak check).
//SOURCES ../day01-blocking/src/test/java/c10k/day01/TestClient.java
//SOURCES ../day01-blocking/src/test/java/c10k/day01/Fds.java
//SOURCES ../day01-blocking/src/test/java/c10k/day01/ServerTestBase.java
// Your classes, and the tests that check them (every dayNN folder, found by the globs).
//SOURCES src/main/java/c10k/exercises/**/*.java
//SOURCES src/test/java/c10k/exercises/*.java
//SOURCES src/test/java/c10k/exercises/**/*.java

import c10k.exercises.ExerciseRun;
import c10k.exercises.ExerciseRun.Exercise;
import c10k.exercises.ExerciseRun.Outcome;
import c10k.exercises.Hints;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code ./jbang check [dayNN] [--hint N] [--verbose]}: runs the exercise tests against YOUR
 * classes in exercises/src/main/java and prints, per exercise, PASS or FAIL with a hint.
 * Exit code 0 when every exercise checked passes, 1 while any fails, 2 on a usage error.
 *
 * <p>JBang compiles this script together with the exercises, their tests and the days' code
 * (the //SOURCES lines above) and recompiles whenever one of those files changes, so a check
 * after an edit takes a few seconds; the tests then run in this JVM through the JUnit
 * Platform launcher ({@code ExerciseRun}, shared with the build's SkeletonsAreRedTest and
 * MutantsAreRedTest), each within {@link ExerciseRun#TEST_SECONDS}: an answer that spins is
 * stopped and named, not waited for.
 *
 * <p>Hints come in levels. Hint 1 is the first failing test's message: what a client did and
 * what went wrong. Hints 2 and up ({@code --hint 2}, {@code --hint 3}) are the exercise's
 * {@link Hints}: the question to ask yourself and the chapter section that answers it, then
 * the shape of the answer. The code itself is in solutions/, for when you want it.
 */
public class Check {

    public static void main(String[] args) {
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
                if (!n.matches("[1-9]")) usage("--hint takes a number from 1 to 9, not '" + n + "'");
                hintLevel = Integer.parseInt(n);
            } else if (a.matches("(?i)(day)?0?\\d{1,2}")) {
                day = "day%02d".formatted(Integer.parseInt(a.replaceAll("\\D", "")));
            } else {
                usage("unknown argument '" + a + "'");
            }
        }

        // The servers under test log to stdout/stderr (and a skeleton throws on every client):
        // keep that out of the report. --verbose prints it at the end.
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream capture = new PrintStream(log, true);
        Report report = new Report(out, hintLevel, verbose);
        Map<String, List<Exercise>> days;
        out.println("Checking " + (day == null ? "every day's exercises" : day + "'s exercises")
                + " (each test stops after " + ExerciseRun.TEST_SECONDS + " s)");
        System.setOut(capture);
        System.setErr(capture);
        try {
            days = ExerciseRun.run(day, List.of(), ExerciseRun.SETTINGS, report);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }

        if (days.isEmpty()) {
            out.println("check: no exercises found" + (day == null ? "" : " for " + day)
                    + " (exercises/src/test/java/c10k/exercises/dayNN/*Test.java)");
            System.exit(2);
        }
        out.println();
        out.println(report.passed + " of " + report.total + " exercises pass.");
        if (report.firstFailing != null) {
            String d = report.firstFailing.day();
            out.println(hintLevel < report.mostHints
                    ? "Stuck? Another hint: ./jbang check " + d + " --hint " + (hintLevel + 1)
                            + (verbose ? "" : "; every failing test: ./jbang check " + d + " --verbose")
                    : "Stuck? The chapter section is named in the class's Javadoc; the finished class is in"
                            + " solutions/src/main/java/c10k/exercises/" + d + "/ (see exercises/README.md).");
        }
        if (verbose && log.size() > 0) {
            out.println("\n--- what the servers under test logged ---");
            out.print(log.toString());
        }
        System.exit(report.firstFailing == null ? 0 : 1);
    }

    /** Prints as the tests run: the exercise's name when it starts, its verdict when it ends. */
    private static final class Report implements ExerciseRun.Progress {
        private final PrintStream out;
        private final int hintLevel;
        private final boolean verbose;
        private String day;
        int total;
        int passed;
        int mostHints = 1;
        Exercise firstFailing;

        Report(PrintStream out, int hintLevel, boolean verbose) {
            this.out = out;
            this.hintLevel = hintLevel;
            this.verbose = verbose;
        }

        @Override
        public void started(String day, String title) {
            if (!day.equals(this.day)) {
                out.println(day);
                this.day = day;
            }
            out.print("  " + title + " ... ");
            out.flush();
        }

        @Override
        public void finished(Exercise e) {
            total++;
            if (e.skipped()) {
                if (!e.day().equals(day)) {
                    out.println(e.day());
                    day = e.day();
                }
                out.println("  SKIP  " + e.title() + "  (" + e.skipReason() + ")");
                return;
            }
            long ok = e.outcomes().stream().filter(Outcome::passed).count();
            if (e.passed()) {
                passed++;
                out.println("PASS  (" + ok + " tests)");
                return;
            }
            if (firstFailing == null) firstFailing = e;
            out.println("FAIL  (" + ok + " of " + e.outcomes().size() + " tests pass)");
            List<String> more = hintsOf(e);
            mostHints = Math.max(mostHints, 1 + more.size());
            for (Outcome o : e.outcomes()) {
                if (o.passed()) continue;
                out.println("        " + simpleName(e.testClass()) + "." + o.method() + ":");
                out.println(indent(ExerciseRun.hint(o.failure(), verbose ? 12 : 4), "          "));
                if (!verbose) break;   // the first failing test only; --verbose shows every one
            }
            for (int level = 2; level <= Math.min(hintLevel, 1 + more.size()); level++) {
                out.println(indent("hint " + level + ": " + more.get(level - 2), "        "));
            }
        }
    }

    /** The exercise's hints after the first (its test class's {@code @Hints}). */
    private static List<String> hintsOf(Exercise e) {
        try {
            Hints h = Class.forName(e.testClass()).getAnnotation(Hints.class);
            return h == null ? List.of() : List.of(h.value());
        } catch (ClassNotFoundException ex) {
            return new ArrayList<>();
        }
    }

    private static void usage(String problem) {
        System.err.println("check: " + problem + "\n" + USAGE);
        System.exit(2);
    }

    private static final String USAGE = """
            usage: ./jbang check [dayNN] [--hint N] [--verbose]
              Runs the exercise tests against your classes in exercises/src/main/java and prints,
              per exercise, PASS or FAIL with a hint. Exit code 0 when all pass, 1 while any fails.
              dayNN      only that day's exercises (day01, 1, day4 ... all work)
              --hint N   hints 1 to N for each failing exercise: 1 is what the failing test saw,
                         2 the question to ask and the section to re-read, 3 the shape of the answer
              --verbose  every failing test with its message, and what the servers logged""";

    private static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }

    private static String indent(String text, String prefix) {
        return prefix + text.replace("\n", "\n" + prefix);
    }
}
