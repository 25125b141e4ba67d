package c10k.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The pages a reader sees: every relative link lands on a file that exists and, with an anchor,
 * on a heading that file has (GitHub's anchors); and the pages speak of their subject, not of
 * the book's making.
 */
class PageLinksTest {

    private static final Path ROOT = Pages.root();
    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]*)\\)");
    private static final Pattern HEADING = Pattern.compile("^#{1,6} (.+)$", Pattern.MULTILINE);

    /** Every Markdown page of the book: the front page, the glossary, each day's chapter and appendix, the bench's pages. */
    static List<Path> pages() throws IOException {
        List<Path> pages = new ArrayList<>(List.of(ROOT.resolve("README.md"), ROOT.resolve("bench/README.md"), ROOT.resolve(Pages.REPORT)));
        if (Files.exists(ROOT.resolve("GLOSSARY.md"))) pages.add(ROOT.resolve("GLOSSARY.md"));
        try (Stream<Path> days = Files.list(ROOT)) {
            for (Path day : days.filter(p -> p.getFileName().toString().matches("day0\\d-.*")).sorted().toList()) {
                for (String f : List.of("README.md", "APPENDIX.md")) if (Files.exists(day.resolve(f))) pages.add(day.resolve(f));
            }
        }
        return pages;
    }

    /** GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
    static Set<String> anchors(Path page) throws IOException {
        String text = Files.readString(page).replaceAll("(?s)```.*?```", "");
        Set<String> anchors = new HashSet<>();
        Map<String, Integer> seen = new HashMap<>();
        Matcher m = HEADING.matcher(text);
        while (m.find()) {
            String a = m.group(1).trim().toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N}_\\- ]", "").replace(' ', '-');
            int n = seen.merge(a, 1, Integer::sum);
            anchors.add(n == 1 ? a : a + "-" + (n - 1));
        }
        return anchors;
    }

    @Test
    void everyRelativeLinkLandsOnAFileAndAHeading() throws IOException {
        List<String> broken = new ArrayList<>();
        int checked = 0;
        for (Path page : pages()) {
            String text = Files.readString(page).replaceAll("(?s)```.*?```", "");
            Matcher m = LINK.matcher(text);
            while (m.find()) {
                String target = m.group(1);
                if (target.matches("^[a-z]+:.*") || target.isEmpty()) continue;   // http:, https:, mailto:
                checked++;
                int hash = target.indexOf('#');
                String file = hash < 0 ? target : target.substring(0, hash);
                Path dest = file.isEmpty() ? page : page.getParent().resolve(file).normalize();
                if (!Files.exists(dest)) {
                    broken.add(ROOT.relativize(page) + ": " + target + " (no such file)");
                } else if (hash >= 0 && dest.toString().endsWith(".md") && !anchors(dest).contains(target.substring(hash + 1))) {
                    broken.add(ROOT.relativize(page) + ": " + target + " (no such heading)");
                }
            }
        }
        assertThat(checked).as("relative links found").isPositive();
        assertThat(broken).as("links that land nowhere").isEmpty();
    }

    /** The pages this check covers today; the others join it once their text is scrubbed. */
    private static final List<String> SCRUBBED = List.of("README.md", "GLOSSARY.md", "bench/README.md", Pages.REPORT,
            "day01-blocking/README.md", "day01-blocking/APPENDIX.md", "day02-multithread/README.md", "day03-select-poll/README.md",
            "day03-select-poll/APPENDIX.md", "day04-epoll-et/README.md", "day04-epoll-et/APPENDIX.md", "day06-fd-reuse/APPENDIX.md");
    private static final Pattern MAKING = Pattern.compile("(?i)issue [0-9]|commit [0-9a-f]{7}|/tmp/|this round|scratch run|earlier run|not met");

    @Test
    void aPageSpeaksOfItsSubjectNotOfTheBooksMaking() throws IOException {
        List<String> found = new ArrayList<>();
        for (String page : SCRUBBED) {
            Path p = ROOT.resolve(page);
            if (!Files.exists(p)) continue;
            Matcher m = MAKING.matcher(Files.readString(p));
            while (m.find()) found.add(page + ": \"" + m.group() + "\"");
        }
        assertThat(found).isEmpty();
    }

    @Test
    void eachChapterEndsWithWhatTheReaderLearnedAndThreeToFiveReviewQuestions() throws IOException {
        for (String day : List.of("day01-blocking", "day02-multithread", "day03-select-poll", "day04-epoll-et", "day05-threadpool-epoll",
                "day06-fd-reuse")) {
            String text = Files.readString(ROOT.resolve(day + "/README.md"));
            List<String> headings = new ArrayList<>();
            Matcher m = Pattern.compile("^## (.+)$", Pattern.MULTILINE).matcher(text.replaceAll("(?s)```.*?```", ""));
            while (m.find()) headings.add(m.group(1));
            assertThat(headings.subList(headings.size() - 2, headings.size())).as(day).containsExactly("What you learned", "Review questions");
            String review = text.substring(text.lastIndexOf("## Review questions"));
            long questions = Pattern.compile("<details><summary>").matcher(review).results().count();
            assertThat(questions).as(day + ": review questions, each with its answer folded").isBetween(3L, 5L);
            assertThat(Pattern.compile("</details>").matcher(review).results().count()).isEqualTo(questions);
        }
    }
}
