package c10k.exercises.day03;

import c10k.day03.Outbox;

/**
 * Day 3, exercise 2: backpressure, so a peer that never reads cannot grow the server's memory.
 *
 * <p><b>Build</b> {@link #shouldRead}: the loop calls it after every read and write of one
 * connection with the bytes still waiting to be sent to that peer. Stop reading once they
 * exceed {@link Outbox#HIGH_WATER}; start again only once they fall below
 * {@link Outbox#LOW_WATER}. The selector loop ({@code SelectorHarness} in the tests) then
 * leaves {@code OP_READ} out of the key's interest ops while this says no. Do exercise 1
 * ({@link WritePath}) first: the end-to-end test here runs through it.
 *
 * <p><b>Why</b>: every read makes answers; if the peer does not read them, they pile up in the
 * outbox, without bound. Not reading leaves the peer's bytes in the kernel: its buffers fill,
 * TCP's window closes, and the peer's own {@code write} blocks: the kernel pushes back for
 * us. Two marks rather than one avoid flapping between pause and resume on every write
 * (Netty's write-buffer water marks are the same 32 KiB and 64 KiB; Redis has
 * {@code client-output-buffer-limit}).
 *
 * <p><b>Re-read</b>, in <a href="../../../../../../../day03-select-poll/README.md">day 3's
 * chapter</a>:
 * <a href="../../../../../../../day03-select-poll/README.md#backpressure-the-outboxs-water-marks">"Backpressure:
 * the outbox's water marks"</a>.
 *
 * <p><b>Check</b>: {@code ./jbang check day03}. Tests: {@code BackpressureTest}.
 */
public final class Backpressure {

    private boolean paused;

    /** Whether the loop should read from this peer now, given the bytes waiting for it. */
    public boolean shouldRead(int pendingBytes) {
        // TODO: pause above Outbox.HIGH_WATER, resume below Outbox.LOW_WATER, and in between
        //  keep doing what you did last time (that is what `paused` is for).
        throw new UnsupportedOperationException("TODO: Backpressure.shouldRead (day 3, exercise 2)");
    }

    /** Reading from this peer is paused. */
    public boolean isPaused() {
        return paused;
    }
}
