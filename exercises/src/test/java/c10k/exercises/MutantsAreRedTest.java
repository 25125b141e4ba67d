package c10k.exercises;

import static org.assertj.core.api.Assertions.assertThat;

import c10k.exercises.ExerciseRun.Exercise;
import c10k.exercises.ExerciseRun.Outcome;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;

/**
 * The other half of "the tests check the exercise": they must reject not only the empty
 * skeleton ({@code SkeletonsAreRedTest}) but the classic wrong answers of each topic. Every
 * file {@code solutions/src/mutants/dayNN/Class.mutants} lists wrong versions ("mutants") of
 * that solution class (see solutions/src/mutants/README.md). For each one this test:
 *
 * <ol>
 *   <li>applies it to the solution's source (each "---" run must match exactly one place, so
 *       a mutant that no longer applies fails here instead of testing nothing);
 *   <li>compiles that one file in-process with {@code javax.tools}, against this JVM's class
 *       path;
 *   <li>loads it in place of the solution, in a class loader of its own that also loads the
 *       exercise's tests afresh (so they link to the mutant), everything else shared;
 *   <li>runs that exercise's tests through the JUnit Platform launcher, in this JVM, with the
 *       same time limits as {@code ./jbang check};
 * </ol>
 *
 * and demands that the tests named on its "by:" line fail on it (so it dies for the reason it
 * was written for, not by accident). Those run first, alone, which keeps the whole proof
 * within a minute; only when they miss does the whole class run, to report which tests, if
 * any, notice. The report (in the surefire output) names the tests that killed each mutant.
 *
 * <p>It runs in the solutions module only, where the solution classes are on the class path.
 */
@EnabledIf("inSolutionsModule")
class MutantsAreRedTest {

    /** A mutant: where it applies, its name and story, the tests meant to kill it, its hunks. */
    record Mutant(String exercise, String name, String description, List<String> by, List<Hunk> hunks) {
    }

    record Hunk(List<String> find, List<String> replace) {
    }

    record Verdict(Mutant mutant, List<String> killers, int tests, long millis) {
    }

    private static Verdict verdict(Mutant m, Map<String, List<Exercise>> result, long startedNanos) {
        List<String> killers = new ArrayList<>();
        int ran = 0;
        for (List<Exercise> list : result.values()) {
            for (Exercise e : list) {
                for (Outcome o : e.outcomes()) {
                    ran++;
                    if (o.status() == TestExecutionResult.Status.FAILED) killers.add(o.method());
                }
            }
        }
        return new Verdict(m, killers, ran, (System.nanoTime() - startedNanos) / 1_000_000);
    }

    static boolean inSolutionsModule() {
        return Files.isDirectory(solutionsDir().resolve("src/mutants"));
    }

    /** The solutions module's folder: surefire's basedir there. */
    private static Path solutionsDir() {
        return Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
    }

    @Test
    void everyClassicWrongAnswerFailsItsExercisesTests() throws Exception {
        Path dir = solutionsDir();
        List<Mutant> mutants = readMutants(dir.resolve("src/mutants"));
        Map<String, Integer> perExercise = new TreeMap<>();
        for (Mutant m : mutants) perExercise.merge(m.exercise(), 1, Integer::sum);
        List<String> exercises = exercises(dir.resolve("src/main/java/c10k/exercises"));
        assertThat(exercises).as("solution classes found").isNotEmpty();
        List<String> tooFew = exercises.stream().filter(e -> perExercise.getOrDefault(e, 0) < 2).toList();
        assertThat(tooFew).as("every exercise keeps at least two classic wrong answers in solutions/src/mutants").isEmpty();

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertThat(javac).as("a JDK's compiler (javax.tools), to compile the mutants").isNotNull();
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        URL solutionClasses = codeSource("c10k.exercises.day01.LineSplitter");
        URL testClasses = codeSource(ExerciseRun.class.getName());
        Path work = Files.createTempDirectory("mutants");

        List<Verdict> verdicts = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        long started = System.nanoTime();
        for (Mutant m : mutants) {
            Path source = dir.resolve("src/main/java/c10k/exercises/" + m.exercise() + ".java");
            String mutated;
            try {
                mutated = apply(Files.readString(source), m);
            } catch (IllegalArgumentException e) {
                problems.add(m.exercise() + " " + m.name() + ": " + e.getMessage());
                continue;
            }
            Path out = work.resolve(m.exercise().replace('/', '-') + "-" + m.name());
            Path src = out.resolve("src/c10k/exercises/" + m.exercise() + ".java");
            Files.createDirectories(src.getParent());
            Files.writeString(src, mutated);
            Path classes = Files.createDirectories(out.resolve("classes"));
            StringWriter diagnostics = new StringWriter();
            boolean compiled = javac.getTask(diagnostics, null, null,
                    List.of("-d", classes.toString(), "-cp", classPath, "-proc:none", "-nowarn", "-Xlint:none"),
                    null, javac.getStandardFileManager(null, null, null).getJavaFileObjects(src)).call();
            if (!compiled) {
                problems.add(m.exercise() + " " + m.name() + ": does not compile:\n" + diagnostics);
                continue;
            }
            String testClass = "c10k.exercises." + m.exercise().replace('/', '.') + "Test";
            ClassLoader previous = Thread.currentThread().getContextClassLoader();
            try (MutantLoader loader = new MutantLoader(new URL[] {classes.toUri().toURL(), solutionClasses, testClasses},
                    MutantsAreRedTest.class.getClassLoader())) {
                Thread.currentThread().setContextClassLoader(loader);
                Class<?> tests = loader.loadClass(testClass);
                long t0 = System.nanoTime();
                // The tests meant to kill it first, alone: that is the proof, and it is quick.
                // Only if they miss is the whole class run, to say which tests (if any) notice.
                List<DiscoverySelector> meant = m.by().stream()
                        .map(method -> (DiscoverySelector) DiscoverySelectors.selectMethod(tests, method)).toList();
                Verdict v = verdict(m, ExerciseRun.runSelected(meant, ExerciseRun.SETTINGS), t0);
                if (v.killers().isEmpty()) v = verdict(m, ExerciseRun.run(List.of(tests), ExerciseRun.SETTINGS), t0);
                verdicts.add(v);
            } finally {
                Thread.currentThread().setContextClassLoader(previous);
            }
        }

        StringBuilder report = new StringBuilder("Mutants, each run against its exercise's tests ("
                + (System.nanoTime() - started) / 1_000_000_000 + " s in all):\n");
        List<String> survivors = new ArrayList<>();
        for (Verdict v : verdicts) {
            Mutant m = v.mutant();
            boolean meant = v.killers().stream().anyMatch(m.by()::contains);
            report.append(v.killers().isEmpty() ? "  SURVIVED " : meant ? "  killed   " : "  killed?  ")
                    .append(m.exercise()).append(' ').append(m.name()).append(": ").append(m.description())
                    .append("\n             by ").append(v.killers().isEmpty() ? "no test" : String.join(", ", v.killers()))
                    .append(" (").append(v.killers().size()).append(" of ").append(v.tests()).append(" tests run, ")
                    .append(v.millis()).append(" ms)\n");
            if (v.killers().isEmpty()) {
                survivors.add(m.exercise() + " " + m.name() + " (" + m.description() + ") passes every test");
            } else if (!meant) {
                survivors.add(m.exercise() + " " + m.name() + " was killed by " + v.killers() + " but by none of "
                        + m.by() + ", the tests meant to catch it");
            }
        }
        System.out.println(report);
        assertThat(problems).as("mutants that could not be applied or compiled").isEmpty();
        assertThat(survivors).as("wrong answers the exercise tests do not reject (strengthen the tests)").isEmpty();
    }

    /** dayNN/Class for every solution class. */
    private static List<String> exercises(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            return files.map(p -> root.relativize(p).toString().replace('\\', '/'))
                    .filter(p -> p.matches("day\\d\\d/[^/]+\\.java"))
                    .map(p -> p.substring(0, p.length() - ".java".length()))
                    .sorted().toList();
        }
    }

    static List<Mutant> readMutants(Path root) throws IOException {
        List<Mutant> mutants = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> s = Files.walk(root)) {
            files = s.filter(p -> p.toString().endsWith(".mutants")).sorted().toList();
        }
        for (Path f : files) {
            String exercise = root.relativize(f).toString().replace('\\', '/').replaceFirst("\\.mutants$", "");
            String name = null;
            String description = null;
            List<String> by = List.of();
            List<Hunk> hunks = new ArrayList<>();
            List<String> find = new ArrayList<>();
            List<String> replace = new ArrayList<>();
            for (String line : (Files.readString(f) + "\n### end").split("\\R")) {
                if (line.startsWith("### ")) {
                    if (!find.isEmpty()) hunks.add(new Hunk(find, replace));
                    if (name != null) mutants.add(new Mutant(exercise, name, description, by, List.copyOf(hunks)));
                    String head = line.substring(4);
                    int colon = head.indexOf(':');
                    name = colon < 0 ? head.strip() : head.substring(0, colon).strip();
                    description = colon < 0 ? "" : head.substring(colon + 1).strip();
                    by = List.of();
                    hunks.clear();
                    find = new ArrayList<>();
                    replace = new ArrayList<>();
                } else if (line.startsWith("by:")) {
                    by = Arrays.stream(line.substring(3).split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
                } else if (line.startsWith("---")) {
                    if (!replace.isEmpty()) {
                        hunks.add(new Hunk(find, replace));
                        find = new ArrayList<>();
                        replace = new ArrayList<>();
                    }
                    find.add(line.substring(3));
                } else if (line.startsWith("+++")) {
                    String r = line.substring(3);
                    if (!r.isBlank()) replace.add(r.startsWith(" ") ? r.substring(1) : r);
                    else if (replace.isEmpty()) replace.add(null);   // "+++" alone: delete
                }
            }
        }
        return mutants;
    }

    /** The solution's source with the mutant's hunks applied; IllegalArgumentException if one does not match exactly once. */
    static String apply(String source, Mutant m) {
        List<String> lines = new ArrayList<>(List.of(source.split("\n", -1)));
        for (Hunk h : m.hunks()) {
            List<String> want = h.find().stream().map(MutantsAreRedTest::normalize).toList();
            int at = -1;
            for (int i = 0; i + want.size() <= lines.size(); i++) {
                boolean match = true;
                for (int j = 0; j < want.size() && match; j++) match = normalize(lines.get(i + j)).equals(want.get(j));
                if (match) {
                    if (at >= 0) throw new IllegalArgumentException("'" + h.find().getFirst().strip() + "' matches more than one place");
                    at = i;
                }
            }
            if (at < 0) throw new IllegalArgumentException("'" + String.join(" / ", h.find()).strip()
                    + "' is not in the solution any more: update the mutant");
            String indent = lines.get(at).substring(0, lines.get(at).length() - lines.get(at).stripLeading().length());
            for (int j = 0; j < want.size(); j++) lines.remove(at);
            List<String> replacement = h.replace().stream().filter(r -> r != null).map(r -> indent + r).toList();
            lines.addAll(at, replacement);
        }
        return String.join("\n", lines);
    }

    /** A line without its trailing // comment, its spacing collapsed: how hunks are matched. */
    static String normalize(String line) {
        boolean inString = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\' && inString) {
                i++;
            } else if (c == '"') {
                inString = !inString;
            } else if (!inString && c == '/' && i + 1 < line.length() && line.charAt(i + 1) == '/') {
                line = line.substring(0, i);
                break;
            }
        }
        return line.strip().replaceAll("\\s+", " ");
    }

    private static URL codeSource(String className) throws ClassNotFoundException {
        return Class.forName(className).getProtectionDomain().getCodeSource().getLocation();
    }

    /**
     * Loads the exercise classes (c10k.exercises.*: the mutant first, then the solutions and
     * the tests) itself, and everything else (JUnit, AssertJ, the days' code) from the
     * parent, so that the tests it loads link to the mutant and to the one JUnit the launcher runs.
     */
    static final class MutantLoader extends URLClassLoader {
        MutantLoader(URL[] urls, ClassLoader parent) {
            super(urls, parent);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!name.startsWith("c10k.exercises.")) return super.loadClass(name, resolve);
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    try {
                        c = findClass(name);
                    } catch (ClassNotFoundException e) {
                        c = super.loadClass(name, false);
                    }
                }
                if (resolve) resolveClass(c);
                return c;
            }
        }
    }
}
