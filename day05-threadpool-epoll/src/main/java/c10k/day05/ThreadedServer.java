package c10k.day05;

import c10k.day03.EventLoopServer;

/** Day 5's servers: an event loop plus a fixed number of threads, whatever the design. */
public interface ThreadedServer extends EventLoopServer {

    /**
     * The threads that run handlers: the worker pool in reactor mode, the event-loop threads
     * in shared mode. Fixed at construction, whatever the number of clients: that is the
     * difference from day 2's thread per client.
     */
    int workerThreads();

    /** Requests read but not yet answered (reactor mode; 0 where requests never wait). */
    default long requestsInFlight() {
        return 0;
    }
}
