package c10k.day04;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import c10k.day01.Fds;
import c10k.day01.harness.Timeouts;
import c10k.day03.NativeConnection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * The loop's state (its fd table, the owed list, the clock it read) belongs to its thread. A
 * layer that called {@code update} from a worker would race the loop on all of it, and the
 * damage would show much later, somewhere else; so the methods a layer may call check the
 * thread first and fail at once.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "epoll is Linux's")
class LoopThreadOnlyTest {

    @Test
    void anExtensionCallFromAnotherThreadFailsAtOnceAndFromTheLoopItWorks() throws Exception {
        int fdsBefore = Fds.baseline();
        EventLoop loop = new EventLoop("loop-only", -1, Tuning.EDGE, new LoopExtension() { },
                new NativeConnection.LoopBuffers(1024), Timeouts.NONE, System::nanoTime);
        loop.start();
        try {
            NativeConnection stranger = new NativeConnection(-1);
            assertThatThrownBy(() -> loop.update(stranger)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("loop thread only");
            assertThatThrownBy(() -> loop.owe(stranger)).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(loop::now).isInstanceOf(IllegalStateException.class);

            CompletableFuture<Long> onTheLoop = new CompletableFuture<>();
            loop.beforeEachWait(() -> {
                try {
                    onTheLoop.complete(loop.now());
                } catch (RuntimeException e) {
                    onTheLoop.completeExceptionally(e);
                }
            });
            loop.wakeup();
            assertThat(onTheLoop.get(30, TimeUnit.SECONDS)).as("the loop's own call is served").isNotNull();
        } finally {
            loop.close();
            loop.releaseFds(true);
        }
        Fds.awaitNoLeak(fdsBefore);
    }
}
