package c10k.exercises;

/**
 * What the learner's code threw on a server thread. A harness catches it (so one bad
 * connection does not kill the server), keeps the first one here, and the tests add it to
 * their message: "no answer" is a poor hint, "your code threw X" is a good one.
 */
public final class LearnerFailure {

    private volatile Throwable first;

    public void record(Throwable t) {
        if (first == null) first = t;
    }

    public Throwable get() {
        return first;
    }

    /** The learner's code threw the skeleton's UnsupportedOperationException("TODO: ..."). */
    public boolean isTodo() {
        Throwable t = first;
        return t instanceof UnsupportedOperationException && String.valueOf(t.getMessage()).startsWith("TODO");
    }

    /** Fails at once, with the lesson, if the learner's code has thrown: no need to wait more. */
    public void failIfAny(String lesson) {
        Throwable t = first;
        if (t != null) throw new AssertionError(isTodo() ? "not written yet: " + String.valueOf(t.getMessage()).replaceFirst("^TODO:?\\s*", "") : lesson + explain(), t);
    }

    /** "" or a line saying what the learner's code threw on the server. */
    public String explain() {
        Throwable t = first;
        if (t == null) return "";
        if (isTodo()) return "\n  (not written yet: " + String.valueOf(t.getMessage()).replaceFirst("^TODO:?\\s*", "") + ")";
        return "\n  (your code threw on the server thread: " + t + ")";
    }
}
