package c10k.day04;

/**
 * How the loop reads and accepts. Edge-triggered: several reads per turn, and a turn owed
 * to whoever spent its budget, since no new edge will come for data already there.
 * Level-triggered: one read per event; the kernel reports again whatever is left.
 */
public record Tuning(boolean edge, int readsPerTurn, int acceptsPerTurn, boolean owesTurns, boolean spareFd) {
    public static final Tuning EDGE = new Tuning(true, 16, 256, true, true);
    public static final Tuning LEVEL = new Tuning(false, 1, 256, false, true);

    /**
     * Out of fds, pause accepting instead of the spare-fd trick: for a server with other
     * threads that open fds (day 5's workers, day 6's), where the trick's "nobody opens an fd
     * between our close and our accept" no longer holds.
     */
    public Tuning withoutSpareFd() {
        return new Tuning(edge, readsPerTurn, acceptsPerTurn, owesTurns, false);
    }
}
