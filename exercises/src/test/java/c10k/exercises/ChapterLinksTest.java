package c10k.exercises;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * An exercise sends the learner to a chapter section: the link must land there. Every link
 * to a {@code dayNN-*}/README.md{@code #anchor} in the exercises and solutions (their sources,
 * their READMEs) must name a heading that chapter has (GitHub's anchors: lower case,
 * punctuation dropped, spaces as hyphens), and every section a hint quotes ("Re-read day 4's
 * \"What edge-triggered mode demands\"") must be a heading of that day's chapter. When a
 * chapter's heading is renamed, this test names the links to update.
 */
class ChapterLinksTest {

    private static final Path ROOT = repoRoot();
    private static final Pattern LINK = Pattern.compile("(day0\\d-[\\w-]+)/README\\.md#([\\w-]+)");
    private static final Pattern HINT = Pattern.compile("day (\\d)'s ((?:\"[^\"]+\"(?: \\([^)]*\\))?(?:,? and |, )?)+)");
    private static final Pattern QUOTED = Pattern.compile("\"([^\"]+)\"(?: \\([^)]*\\))?");

    @Test
    void everyLinkToAChapterSectionLandsOnAHeading() throws IOException {
        List<Path> files = new ArrayList<>();
        for (String dir : List.of("exercises/src", "solutions/src")) {
            try (Stream<Path> s = Files.walk(ROOT.resolve(dir))) {
                s.filter(p -> p.toString().endsWith(".java")).forEach(files::add);
            }
        }
        files.add(ROOT.resolve("exercises/README.md"));
        files.add(ROOT.resolve("solutions/README.md"));
        List<String> broken = new ArrayList<>();
        int checked = 0;
        for (Path f : files) {
            Matcher m = LINK.matcher(Files.readString(f));
            while (m.find()) {
                checked++;
                Map<String, String> anchors = anchors(m.group(1));
                if (!anchors.containsKey(m.group(2))) {
                    broken.add(ROOT.relativize(f) + ": " + m.group(1) + "/README.md#" + m.group(2)
                            + " (its headings: " + anchors.values() + ")");
                }
            }
        }
        assertThat(checked).as("links to chapter sections found").isPositive();
        assertThat(broken).as("links to chapter sections that the chapter does not have").isEmpty();
    }

    private static final Pattern RELATIVE = Pattern.compile("(?:href=\"|\\]\\()([^\"):#\\s]+\\.(?:md|java|json|txt))(?:#[^\")]*)?[\")]");

    @Test
    void everyRelativeLinkPointsAtAFileThatExists() throws IOException {
        List<Path> files = new ArrayList<>();
        for (String dir : List.of("exercises/src/main", "solutions/src/main")) {
            try (Stream<Path> s = Files.walk(ROOT.resolve(dir))) {
                s.filter(p -> p.toString().endsWith(".java")).forEach(files::add);
            }
        }
        for (String md : List.of("exercises/README.md", "solutions/README.md", "solutions/src/mutants/README.md")) {
            files.add(ROOT.resolve(md));
        }
        List<String> broken = new ArrayList<>();
        int checked = 0;
        for (Path f : files) {
            Matcher m = RELATIVE.matcher(Files.readString(f));
            while (m.find()) {
                checked++;
                if (!Files.exists(f.getParent().resolve(m.group(1)).normalize())) {
                    broken.add(ROOT.relativize(f) + ": " + m.group(1));
                }
            }
        }
        assertThat(checked).as("relative links found").isPositive();
        assertThat(broken).as("relative links to files that do not exist").isEmpty();
    }

    @Test
    void everySectionAHintQuotesIsAHeading() throws Exception {
        List<String> broken = new ArrayList<>();
        int checked = 0;
        try (Stream<Path> s = Files.walk(ROOT.resolve("exercises/src/test/java/c10k/exercises"))) {
            for (Path p : s.filter(f -> f.getFileName().toString().endsWith("Test.java")).toList()) {
                String rel = ROOT.resolve("exercises/src/test/java").relativize(p).toString().replace('\\', '/');
                Class<?> c = Class.forName(rel.replace('/', '.').replaceFirst("\\.java$", ""));
                Hints hints = c.getAnnotation(Hints.class);
                if (hints == null) continue;
                for (String hint : hints.value()) {
                    Matcher m = HINT.matcher(hint);
                    while (m.find()) {
                        String dayDir = dayDir(Integer.parseInt(m.group(1)));
                        Map<String, String> anchors = anchors(dayDir);
                        Matcher q = QUOTED.matcher(m.group(2));
                        while (q.find()) {
                            checked++;
                            if (!anchors.containsValue(q.group(1))) {
                                broken.add(c.getSimpleName() + ": \"" + q.group(1) + "\" is not a heading of " + dayDir
                                        + "/README.md (its headings: " + anchors.values() + ")");
                            }
                        }
                    }
                }
            }
        }
        assertThat(checked).as("sections quoted by hints").isPositive();
        assertThat(broken).as("hints that send the learner to a section the chapter does not have").isEmpty();
    }

    /** In a failure message's source: (day 4, \"What edge-triggered mode demands\"). */
    private static final Pattern MESSAGE_QUOTE = Pattern.compile("day (\\d), \\\\\"([^\"\\\\]+)\\\\\"");

    /** A failure message that names the lesson it breaks names a section the chapter has. */
    @Test
    void everySectionAFailureMessageQuotesIsAHeading() throws IOException {
        List<String> broken = new ArrayList<>();
        int checked = 0;
        try (Stream<Path> s = Files.walk(ROOT.resolve("exercises/src/test/java/c10k/exercises"))) {
            for (Path p : s.filter(f -> f.getFileName().toString().endsWith("Test.java")).toList()) {
                Matcher m = MESSAGE_QUOTE.matcher(Files.readString(p));
                while (m.find()) {
                    checked++;
                    String dayDir = dayDir(Integer.parseInt(m.group(1)));
                    if (!anchors(dayDir).containsValue(m.group(2))) {
                        broken.add(p.getFileName() + ": \"" + m.group(2) + "\" is not a heading of " + dayDir + "/README.md");
                    }
                }
            }
        }
        assertThat(checked).as("sections quoted by failure messages").isPositive();
        assertThat(broken).as("failure messages that send the learner to a section the chapter does not have").isEmpty();
    }

    private static final String ORIGINS = "where-this-book-comes-from";
    private static final Pattern FRONT_PAGE_LINK = Pattern.compile("\\]\\((?:\\.\\./)+README\\.md#([\\w-]+)\\)");
    /** What the chapters call the book's sources, which only the front page introduces. */
    private static final List<String> SOURCE_NAMES = List.of("source notes", "EServer", "30dayMakeCppServer", "grew from");

    /**
     * The chapters speak of "the source notes", EServer and 30dayMakeCppServer, which only the
     * front page's "Where this book comes from" introduces: in every chapter (and the
     * exercises' and solutions' READMEs) the first mention of each is a link to that section,
     * and every link to a front-page section lands on one of its headings.
     */
    @Test
    void eachChaptersFirstMentionOfTheSourcesLinksToWhereTheBookComesFrom() throws IOException {
        Map<String, String> frontPage = new HashMap<>();
        for (String line : Files.readAllLines(ROOT.resolve("README.md"))) {
            if (line.startsWith("#")) frontPage.put(anchor(line.replaceFirst("^#+\\s*", "").strip()), line);
        }
        assertThat(frontPage).as("the front page's headings").containsKey(ORIGINS);
        List<Path> docs = new ArrayList<>();
        try (Stream<Path> s = Files.list(ROOT)) {
            s.filter(d -> d.getFileName().toString().matches("day0\\d-.*")).map(d -> d.resolve("README.md"))
                    .filter(Files::exists).sorted().forEach(docs::add);
        }
        docs.add(ROOT.resolve("exercises/README.md"));
        docs.add(ROOT.resolve("solutions/README.md"));
        List<String> unlinked = new ArrayList<>();
        List<String> broken = new ArrayList<>();
        int mentions = 0;
        for (Path doc : docs) {
            String text = Files.readString(doc);
            List<int[]> originLinks = new ArrayList<>();   // [start of link text, end of link text]
            Matcher m = FRONT_PAGE_LINK.matcher(text);
            while (m.find()) {
                if (!frontPage.containsKey(m.group(1))) broken.add(ROOT.relativize(doc) + ": README.md#" + m.group(1));
                if (m.group(1).equals(ORIGINS)) originLinks.add(new int[] {text.lastIndexOf('[', m.start()), m.start()});
            }
            String lower = text.toLowerCase(Locale.ROOT);
            for (String name : SOURCE_NAMES) {
                int at = lower.indexOf(name.toLowerCase(Locale.ROOT));
                if (at < 0) continue;
                mentions++;
                boolean linked = originLinks.stream().anyMatch(l -> l[0] >= 0 && l[0] < at && at < l[1]);
                if (!linked) {
                    int line = (int) text.substring(0, at).chars().filter(c -> c == '\n').count() + 1;
                    unlinked.add(ROOT.relativize(doc) + ":" + line + ": \"" + name + "\"");
                }
            }
        }
        assertThat(mentions).as("mentions of the book's sources found in the chapters").isPositive();
        assertThat(broken).as("links to front-page sections the front page does not have").isEmpty();
        assertThat(unlinked)
                .as("first mentions, per chapter, not linked to the front page's \"Where this book comes from\""
                        + " (../README.md#" + ORIGINS + ")")
                .isEmpty();
    }

    /** anchor -> heading text (backticks dropped), for one day's chapter. */
    private static Map<String, String> anchors(String dayDir) throws IOException {
        Map<String, String> map = new HashMap<>();
        Path readme = ROOT.resolve(dayDir).resolve("README.md");
        if (!Files.exists(readme)) return map;
        for (String line : Files.readAllLines(readme)) {
            if (!line.startsWith("#")) continue;
            String heading = line.replaceFirst("^#+\\s*", "").strip();
            map.put(anchor(heading), heading.replace("`", ""));
        }
        return map;
    }

    /** GitHub's heading anchor: lower case, everything but letters, digits, '_', '-' and spaces dropped, spaces as '-'. */
    static String anchor(String heading) {
        return heading.toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N}_\\- ]", "").replace(' ', '-');
    }

    private static String dayDir(int day) throws IOException {
        try (Stream<Path> s = Files.list(ROOT)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("day%02d-".formatted(day))).findFirst().orElse("day%02d-?".formatted(day));
        }
    }

    private static Path repoRoot() {
        Path p = Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("exercises/src"))) p = p.getParent();
        return p == null ? Path.of(".") : p;
    }
}
