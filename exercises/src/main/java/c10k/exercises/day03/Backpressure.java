package c10k.exercises.day03;

/**
 * Day 3, exercise 2: backpressure, so a peer that never reads cannot grow the server's memory.
 * The bound is given; when to stop reading and when to start again is yours to choose, and
 * the tests try to break the bound.
 *
 * <p><b>Build</b> {@link #shouldRead}: the selector loop asks it, after every read and write of
 * one connection, whether to read from that peer now, given the bytes still waiting to be
 * sent to it. While it says no, the loop leaves {@code OP_READ} out of the key's interest. Do
 * exercise 1 ({@link WritePath}) first: the end-to-end test here runs through it.
 *
 * <p><b>The contract</b>, with the numbers yours to choose:
 * <ul>
 *   <li>the bytes held for one peer, answers waiting to be sent, never exceed
 *       {@link #MAX_HELD}, whatever the peer sends and however its lines are cut into packets
 *       and reads. The loop around you is day 3's line echo, to day 1's protocol (a line of up to
 *       {@code Protocol.MAX_LINE} bytes comes back whole); its reads are at most
 *       {@link #READ_BYTES}. {@code MAX_HELD} differs from the chapter's bound on purpose: the
 *       chapter's marks were chosen for its own outbox, and the numbers that keep this one are
 *       yours to work out;
 *   <li>a peer with at most {@link #ALWAYS_READ} bytes waiting is read, at every call: a
 *       client pipelining normally is never slowed down;
 *   <li>each pause and each resume costs the loop a system call: once paused, at least
 *       {@link #GAP} bytes must drain before reading resumes, and once resumed, at least
 *       {@code GAP} more must pile up before the next pause;
 *   <li>a peer whose bytes have all been sent is read again.
 * </ul>
 *
 * <p><b>What the tests try</b>: every pending size from 0 to {@code MAX_HELD}, up and then
 * down again; a write that drains most of what waits at once; then a real client that sends
 * 32 MiB without reading, another client beside it, and the flooder reading everything back
 * at last.
 *
 * <p><b>Why</b>: every read makes answers; if the peer does not read them, they pile up in the
 * outbox, without bound. Not reading leaves the peer's bytes in the kernel: its buffers fill,
 * TCP's window closes, and the peer's own {@code write} blocks: the kernel pushes back for
 * us (Netty's write-buffer water marks; Redis's {@code client-output-buffer-limit}).
 *
 * <p><b>Builds on</b>, in <a href="../../../../../../../day03-select-poll/README.md">day 3's
 * chapter</a>:
 * <a href="../../../../../../../day03-select-poll/README.md#backpressure-the-outboxs-water-marks">"Backpressure:
 * the outbox's water marks"</a> (why two marks); day 1's
 * <a href="../../../../../../../day01-blocking/README.md#tcp-is-a-byte-stream-not-a-message-stream">"TCP
 * is a byte stream, not a message stream"</a>. What one read's answers can be, in the line
 * echo around you, is yours to work out; the sections that say it come with
 * {@code ./jbang check day03 --hint 2}.
 *
 * <p><b>Check</b>: {@code ./jbang check day03}. Tests: {@code BackpressureTest}.
 */
public final class Backpressure {

    /** The most bytes the server may hold for one peer, answers waiting to be sent. */
    public static final int MAX_HELD = 160 * 1024;
    /** The most bytes the loop reads from one peer at a time. */
    public static final int READ_BYTES = 64 * 1024;
    /** A peer with this many bytes waiting, or fewer, is read. */
    public static final int ALWAYS_READ = 16 * 1024;
    /** The least that must drain between a pause and the resume after it (and pile up between a resume and the next pause). */
    public static final int GAP = 8 * 1024;

    /** Whether the loop should read from this peer now, given the bytes waiting for it. */
    public boolean shouldRead(int pendingBytes) {
        // TODO: the contract above.
        throw new UnsupportedOperationException("TODO: Backpressure.shouldRead (day 3, exercise 2)");
    }

    /** Reading from this peer is paused (the last {@link #shouldRead} said no). */
    public boolean isPaused() {
        // TODO
        throw new UnsupportedOperationException("TODO: Backpressure.isPaused (day 3, exercise 2)");
    }
}
