package c10k.exercises;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a skeleton's code is, apart from its comments: its fingerprint and its TODO throws.
 * {@code SkeletonsAreRedTest} uses them to tell a committed skeleton from a learner's work,
 * and {@code ./jbang check} to say "not written yet" (every TODO throw still there) apart
 * from "written, and wrong", the same way on every run.
 */
public final class Skeletons {

    private Skeletons() {
    }

    /** Where a learner's class stands before its tests are run. */
    public enum Start {
        /** Every TODO throw of the skeleton is still there: its tests would only say so. */
        NOT_WRITTEN,
        /** A find-the-bug class whose code is still as given: its tests would tell the story the learner is to find. */
        AS_GIVEN,
        /** The learner's work: run its tests. */
        WRITTEN
    }

    /**
     * {@code recorded} is the class's line in skeletons.txt ("fingerprint todoThrows"), {@code source}
     * the learner's class now. Comments never count: a learner who only wrote down what they
     * found has not changed the code yet.
     */
    public static Start start(String recorded, String source) {
        String[] parts = recorded.split(" ");
        int todos = Integer.parseInt(parts[1]);
        if (todos > 0) return todoThrows(source) >= todos ? Start.NOT_WRITTEN : Start.WRITTEN;
        return fingerprint(source).equals(parts[0]) ? Start.AS_GIVEN : Start.WRITTEN;
    }

    /** skeletons.txt: "dayNN/Class.java" -> "fingerprint todoThrows". */
    public static Map<String, String> recorded(Path file) throws IOException {
        Map<String, String> map = new TreeMap<>();
        if (!Files.exists(file)) return map;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] parts = line.split("\\s+");
            map.put(parts[0], parts.length > 2 ? parts[1] + " " + parts[2] : parts[1]);
        }
        return map;
    }

    /** How many {@code throw new UnsupportedOperationException("TODO...")} the code has (comments left out). */
    public static int todoThrows(String source) {
        String code = codeOnly(source);
        int n = 0;
        for (int i = code.indexOf("throw new UnsupportedOperationException(\"TODO"); i >= 0;
                i = code.indexOf("throw new UnsupportedOperationException(\"TODO", i + 1)) {
            n++;
        }
        return n;
    }

    /** SHA-256 (first 16 hex digits) of the code alone: comments dropped, whitespace runs made one space. */
    public static String fingerprint(String source) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(codeOnly(source).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The source without comments, with string and char literals kept as they are. */
    public static String codeOnly(String s) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (c == '/' && i + 1 < n && s.charAt(i + 1) == '/') {
                while (i < n && s.charAt(i) != '\n') i++;
                out.append(' ');
            } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
                int end = s.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
                out.append(' ');
            } else if (c == '"' || c == '\'') {
                int j = i + 1;
                while (j < n && s.charAt(j) != c) j += s.charAt(j) == '\\' ? 2 : 1;
                out.append(s, i, Math.min(n, j + 1));
                i = j + 1;
            } else {
                out.append(Character.isWhitespace(c) ? ' ' : c);
                i++;
            }
        }
        return out.toString().replaceAll("\\s+", " ").strip();
    }
}
