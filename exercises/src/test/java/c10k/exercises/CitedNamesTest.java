package c10k.exercises;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Member;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * An exercise that sends the learner to code ("re-read day 5's {@code ReactorServer}", "as
 * {@code Outbox.append} does") must send them to code that exists, as
 * {@link ChapterLinksTest} does for chapter sections. Every class name, and every
 * {@code Class.member}, that an exercise cites is looked up: in the skeletons' and solutions'
 * Javadoc and comments ({@code {@code X}}, {@code {@link X}}), in the hints, and in the
 * exercises' README (in backticks). A class must be a class of the book (any module's sources)
 * or of the JDK; a member must be declared in that class's source (or, for the JDK's, be one of
 * its methods, fields or nested classes).
 */
class CitedNamesTest {

    private static final Path ROOT = repoRoot();
    /** Class or Class.member (also Class#member), starting with an upper-case letter and a lower-case one later. */
    private static final String NAME = "([A-Z]\\w*[a-z]\\w*)(?:[.#]([A-Za-z_]\\w*))?";
    private static final Pattern JAVADOC = Pattern.compile("\\{@(?:code|link|linkplain) " + NAME + "(?:\\(|[ }])");
    private static final Pattern BACKTICK = Pattern.compile("`" + NAME + "(?:\\(\\))?`");
    /** In a hint's plain words: only Class.member is surely a name. */
    private static final Pattern DOTTED = Pattern.compile("\\b([A-Z]\\w*[a-z]\\w*)\\.([a-z]\\w*)\\b");
    private static final List<String> JDK_PACKAGES = List.of("java.lang", "java.io", "java.net", "java.nio",
            "java.nio.channels", "java.util", "java.util.concurrent", "java.util.concurrent.atomic",
            "java.util.concurrent.locks", "java.util.function", "java.time", "java.lang.foreign");

    @Test
    void everyCodeNameAnExerciseCitesExists() throws Exception {
        Map<String, List<Path>> declared = declaredTypes();
        List<String> broken = new ArrayList<>();
        int checked = 0;
        List<Path> javadoc = new ArrayList<>();
        for (String dir : List.of("exercises/src/main/java", "solutions/src/main/java")) {
            try (Stream<Path> s = Files.walk(ROOT.resolve(dir))) {
                s.filter(p -> p.toString().endsWith(".java")).forEach(javadoc::add);
            }
        }
        for (Path f : javadoc) {
            Matcher m = JAVADOC.matcher(Files.readString(f));
            while (m.find()) {
                checked++;
                String why = missing(m.group(1), m.group(2), declared, f);
                if (why != null) broken.add(ROOT.relativize(f) + ": " + why);
            }
        }
        Path readme = ROOT.resolve("exercises/README.md");
        Matcher r = BACKTICK.matcher(Files.readString(readme));
        while (r.find()) {
            checked++;
            String why = missing(r.group(1), r.group(2), declared, null);
            if (why != null) broken.add("exercises/README.md: " + why);
        }
        try (Stream<Path> s = Files.walk(ROOT.resolve("exercises/src/test/java/c10k/exercises"))) {
            for (Path p : s.filter(f -> f.getFileName().toString().endsWith("Test.java")).toList()) {
                String rel = ROOT.resolve("exercises/src/test/java").relativize(p).toString().replace('\\', '/');
                Class<?> c = Class.forName(rel.replace('/', '.').replaceFirst("\\.java$", ""));
                List<String> hints = new ArrayList<>();
                if (c.getAnnotation(Hints.class) != null) hints.addAll(List.of(c.getAnnotation(Hints.class).value()));
                for (var m : c.getDeclaredMethods()) {
                    if (m.getAnnotation(Hints.class) != null) hints.addAll(List.of(m.getAnnotation(Hints.class).value()));
                }
                for (String hint : hints) {
                    Matcher h = DOTTED.matcher(hint);
                    while (h.find()) {
                        checked++;
                        String why = missing(h.group(1), h.group(2), declared, p);
                        if (why != null) broken.add(c.getSimpleName() + "'s hints: " + why);
                    }
                }
            }
        }
        assertThat(checked).as("code names cited by the exercises").isPositive();
        assertThat(broken).as("code names an exercise cites that the code does not have").isEmpty();
    }

    /** Null if {@code type} (and {@code member}, if any) exists; else what is missing. */
    private static String missing(String type, String member, Map<String, List<Path>> declared, Path citing) throws IOException {
        if (member != null && member.matches("java|md|json|txt|mutants|xml")) return null;   // a file's name
        List<Path> files = declared.get(type);
        if (files != null) {
            if (member == null) return null;
            Pattern word = Pattern.compile("\\b" + Pattern.quote(member) + "\\b");
            for (Path f : files) {
                if (word.matcher(Files.readString(f)).find()) return null;
            }
            return type + "." + member + ": no " + member + " in " + files.stream().map(ROOT::relativize).toList();
        }
        Class<?> jdk = jdkClass(type);
        if (jdk != null) {
            if (member == null || hasMember(jdk, member)) return null;
            return type + "." + member + ": " + jdk.getName() + " has no member " + member;
        }
        if (citing != null && member == null && isWordInFile(type, citing)) return null;   // e.g. a type parameter
        return type + (member == null ? "" : "." + member) + ": no class " + type + " in the book's sources or the JDK";
    }

    private static boolean isWordInFile(String type, Path f) throws IOException {
        return Pattern.compile("(class|interface|record|enum|<)\\s*" + Pattern.quote(type) + "\\b").matcher(Files.readString(f)).find();
    }

    private static Class<?> jdkClass(String simple) {
        for (String pkg : JDK_PACKAGES) {
            try {
                return Class.forName(pkg + "." + simple, false, ClassLoader.getPlatformClassLoader());
            } catch (ClassNotFoundException e) {
                // not in this package
            }
        }
        return null;
    }

    private static boolean hasMember(Class<?> c, String name) {
        for (Class<?> k = c; k != null; k = k.getSuperclass()) {
            for (Member m : k.getDeclaredMethods()) if (m.getName().equals(name)) return true;
            for (Member m : k.getDeclaredFields()) if (m.getName().equals(name)) return true;
            for (Class<?> n : k.getDeclaredClasses()) if (n.getSimpleName().equals(name)) return true;
        }
        for (Class<?> i : c.getInterfaces()) if (hasMember(i, name)) return true;
        return false;
    }

    /** Simple type name -> the source files that declare it (top-level or nested), in every module. */
    private static Map<String, List<Path>> declaredTypes() throws IOException {
        Pattern decl = Pattern.compile("\\b(?:class|interface|record|enum|@interface)\\s+([A-Z]\\w*)");
        Map<String, List<Path>> map = new HashMap<>();
        try (Stream<Path> s = Files.walk(ROOT)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/")
                    && !p.toString().contains("/target/")).toList()) {
                Matcher m = decl.matcher(Files.readString(f));
                while (m.find()) map.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(f);
            }
        }
        return map;
    }

    private static Path repoRoot() {
        Path p = Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("exercises/src"))) p = p.getParent();
        return p == null ? Path.of(".") : p;
    }
}
