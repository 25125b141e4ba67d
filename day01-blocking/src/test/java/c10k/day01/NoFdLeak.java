package c10k.day01;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test that leaves one of its descriptors open: a socket, a pipe, an epoll instance,
 * an eventfd. Every server test of the book registers it with
 * {@code @ExtendWith(NoFdLeak.class)}.
 *
 * <p>The count is taken before the class's own {@code @BeforeEach} methods and compared after
 * its {@code @AfterEach} methods, which close the server and the clients: what is still open
 * then was leaked. The comparison waits (bounded) for the count to come back, because a
 * server's threads may still be closing their last descriptors when {@code close()} returns
 * to the test.
 */
public final class NoFdLeak implements BeforeEachCallback, AfterEachCallback {

    private static final ExtensionContext.Namespace HERE = ExtensionContext.Namespace.create(NoFdLeak.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        if (Fds.supported()) context.getStore(HERE).put(context.getUniqueId(), Fds.baseline());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Integer before = context.getStore(HERE).remove(context.getUniqueId(), Integer.class);
        if (before != null) Fds.awaitNoLeak(before);
    }
}
