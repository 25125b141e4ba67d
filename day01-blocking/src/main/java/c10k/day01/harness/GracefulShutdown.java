package c10k.day01.harness;

import c10k.day01.EchoServer;

import c10k.day01.harness.GracefulShutdown;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What Ctrl-C (SIGINT) and SIGTERM do to a running server: the first signal starts
 * {@link EchoServer#shutdownGracefully} on a thread of its own, the second one calls
 * {@link EchoServer#close()} at once (the drain is taking too long, or the user is impatient).
 *
 * <p>Why {@code sun.misc.Signal} and not a shutdown hook: the JVM runs its hooks once, on its
 * way out, and a second SIGTERM while they run does nothing more (the JVM is already in
 * {@code Runtime.exit}, which a second caller only waits on). So "a second signal closes at
 * once" cannot be written with hooks. {@code Signal.handle} replaces the JVM's own handler
 * for that signal: the JVM does not start exiting, and each signal calls us. The class is in
 * {@code jdk.unsupported}, the module the JDK keeps for exactly such critical internal APIs
 * (JEP 260), available without any flag.
 */
final class GracefulShutdown {

    /** Something that calls {@code onSignal} on each SIGINT or SIGTERM (tests pass their own). */
    interface Signals {
        void install(Runnable onSignal);
    }

    /**
     * {@code sun.misc.Signal.handle(new Signal("TERM"), s -> onSignal.run())}, and the same for
     * INT, written through reflection: not because the API is hidden ({@code jdk.unsupported}
     * exports {@code sun.misc} to everyone), but because javac prints "internal proprietary
     * API" warnings for every direct use, and a JBang user would see them on each build.
     */
    static final Signals SYSTEM = onSignal -> {
        try {
            Class<?> signal = Class.forName("sun.misc.Signal");
            Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
            Object handler = Proxy.newProxyInstance(GracefulShutdown.class.getClassLoader(), new Class<?>[] {handlerType},
                    (proxy, method, args) -> switch (method.getName()) {
                        case "handle" -> { onSignal.run(); yield null; }
                        case "hashCode" -> System.identityHashCode(proxy);
                        case "equals" -> proxy == args[0];
                        default -> "signal handler";
                    });
            for (String name : List.of("INT", "TERM")) {
                try {
                    signal.getMethod("handle", signal, handlerType).invoke(null, signal.getConstructor(String.class).newInstance(name), handler);
                } catch (InvocationTargetException e) {
                    // IllegalArgumentException: SIGINT is ignored in a background job of a
                    // non-interactive shell (and the JVM leaves it alone); -Xrs: no handlers.
                }
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("sun.misc.Signal is not available (module jdk.unsupported)", e);
        }
    };

    private final EchoServer server;
    private final Duration drain;
    private final System.Logger log;
    private static final int OVER = 1_000;   // the count once the graceful shutdown has ended: later signals do nothing
    private final AtomicInteger signals = new AtomicInteger();
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile int status;

    GracefulShutdown(EchoServer server, Duration drain, System.Logger log) {
        this.server = server;
        this.drain = drain;
        this.log = log;
    }

    /** Called on each signal, on whatever thread delivers it. */
    void onSignal() {
        switch (signals.incrementAndGet()) {
            case 1 -> {
                log.log(System.Logger.Level.INFO, "shutting down: finishing answers, draining clients for up to "
                        + drain.toSeconds() + " s (signal again to close at once)");
                Thread.ofPlatform().name("graceful-shutdown").start(this::gracefully);
            }
            case 2 -> {
                status = 1;   // first: the graceful shutdown may end while we log, and then leaves the exit to us
                log.log(System.Logger.Level.WARNING, "second signal: closing every connection now");
                run(server::close);
                done.countDown();
            }
            default -> { }   // already closing at once, or the graceful shutdown is over
        }
    }

    /**
     * The JVM runs each signal's handler on a thread of its own, so the second signal can be on
     * its way to close() while the graceful shutdown ends. Whoever moves the count first decides:
     * no second signal yet, and none counts any more (exit 0); else the second one ends the run,
     * with status 1, once its close() has returned.
     */
    private void gracefully() {
        run(() -> server.shutdownGracefully(drain));
        if (signals.compareAndSet(1, OVER)) done.countDown();
    }

    private void run(Runnable shutdown) {
        try {
            shutdown.run();
        } catch (RuntimeException e) {
            log.log(System.Logger.Level.ERROR, "shutdown failed", e);
            status = 1;
        }
    }

    /**
     * Installs the signal handlers. Before the server says it is listening: a client (or a
     * test) that sends SIGTERM as soon as it reads that line must find them in place, or the
     * JVM's own handler would end the process at once.
     */
    GracefulShutdown install(Signals with) {
        with.install(this::onSignal);
        return this;
    }

    /**
     * Waits until the server is shut down. Returns the exit status: 0 after a graceful
     * shutdown, 1 if it had to be cut short or failed.
     */
    int await() throws InterruptedException {
        done.await();
        return status;
    }
}
