///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 25+
//JAVA_OPTIONS --enable-native-access=ALL-UNNAMED
//DEPS org.junit.jupiter:junit-jupiter:5.14.1
//DEPS org.junit.platform:junit-platform-launcher:1.14.1
//DEPS org.assertj:assertj-core:3.27.6
//
// The days' code the exercises build on (a new day: one line here).
//SOURCES ../day01-blocking/src/main/java/c10k/day01/*.java
//SOURCES ../day02-multithread/src/main/java/c10k/day02/*.java
//SOURCES ../day03-select-poll/src/main/java/c10k/day03/*.java
//SOURCES ../day04-epoll-et/src/main/java/c10k/day04/*.java
//SOURCES ../day05-threadpool-epoll/src/main/java/c10k/day05/*.java
//SOURCES ../day06-fd-reuse/src/main/java/c10k/day06/*.java
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
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/**
 * {@code ./jbang check [dayNN] [--verbose]}: runs the exercise tests against YOUR classes in
 * exercises/src/main/java and prints, per exercise, PASS or FAIL with the first hint.
 * Exit code 0 when every exercise checked passes, 1 while any fails, 2 on a usage error.
 *
 * <p>JBang compiles this script together with the exercises, their tests and the days' code
 * (the //SOURCES lines above) and recompiles whenever one of those files changes, so a check
 * after an edit takes a few seconds; the tests then run in this JVM through the JUnit
 * Platform launcher ({@code ExerciseRun}, shared with the build's SkeletonsAreRedTest).
 */
public class Check {

    public static void main(String[] args) {
        String day = null;
        boolean verbose = false;
        for (String a : args) {
            if (a.equals("-v") || a.equals("--verbose")) {
                verbose = true;
            } else if (a.equals("-h") || a.equals("--help")) {
                System.out.println(USAGE);
                return;
            } else if (a.matches("(?i)(day)?0?\\d{1,2}")) {
                day = "day%02d".formatted(Integer.parseInt(a.replaceAll("\\D", "")));
            } else {
                System.err.println("check: unknown argument '" + a + "'\n" + USAGE);
                System.exit(2);
            }
        }

        // The servers under test log to stdout/stderr (and a skeleton throws on every client):
        // keep that out of the report. --verbose prints it at the end.
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream capture = new PrintStream(log, true);
        Map<String, List<Exercise>> days;
        System.setOut(capture);
        System.setErr(capture);
        try {
            days = ExerciseRun.run(day, Map.of(
                    "junit.jupiter.execution.timeout.default", "60 s",
                    "junit.jupiter.execution.timeout.lifecycle.method.default", "30 s"));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }

        if (days.isEmpty()) {
            out.println("check: no exercises found" + (day == null ? "" : " for " + day)
                    + " (exercises/src/test/java/c10k/exercises/dayNN/*Test.java)");
            System.exit(2);
        }
        int total = 0;
        int passed = 0;
        String firstFailing = null;
        for (var entry : days.entrySet()) {
            out.println(entry.getKey());
            for (Exercise e : entry.getValue()) {
                total++;
                if (e.skipped()) {
                    out.println("  SKIP  " + e.title() + "  (" + e.skipReason() + ")");
                    continue;
                }
                long ok = e.outcomes().stream().filter(Outcome::passed).count();
                if (e.passed()) {
                    passed++;
                    out.println("  PASS  " + e.title() + "  (" + ok + " tests)");
                    continue;
                }
                if (firstFailing == null) firstFailing = e.day();
                out.println("  FAIL  " + e.title() + "  (" + ok + " of " + e.outcomes().size() + " tests pass)");
                for (Outcome o : e.outcomes()) {
                    if (o.passed()) continue;
                    out.println("        " + simpleName(e.testClass()) + "." + o.method() + ":");
                    out.println(indent(ExerciseRun.hint(o.failure(), verbose ? 12 : 4), "          "));
                    if (!verbose) break;   // the first hint only; --verbose shows every failing test
                }
            }
        }
        out.println();
        out.println(passed + " of " + total + " exercises pass.");
        if (firstFailing != null) {
            out.println("Stuck? The chapter section is named in the class's Javadoc; the finished class is in"
                    + " solutions/src/main/java/c10k/exercises/" + firstFailing + "/ (see exercises/README.md)."
                    + (verbose ? "" : " More detail: ./jbang check " + firstFailing + " --verbose"));
        }
        if (verbose && log.size() > 0) {
            out.println("\n--- what the servers under test logged ---");
            out.print(log.toString());
        }
        System.exit(passed == total || firstFailing == null ? 0 : 1);
    }

    private static final String USAGE = """
            usage: ./jbang check [dayNN] [--verbose]
              Runs the exercise tests against your classes in exercises/src/main/java and prints,
              per exercise, PASS or FAIL with the first hint. Exit code 0 when all pass, 1 while any fails.
              dayNN      only that day's exercises (day01, 1, day4 ... all work)
              --verbose  every failing test with its message, and what the servers logged""";

    private static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }

    private static String indent(String text, String prefix) {
        return prefix + text.replace("\n", "\n" + prefix);
    }
}
