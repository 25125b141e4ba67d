package c10k.day03;

import java.io.IOException;

/** A system call failed: names the call and the errno, e.g. {@code bind: EADDRINUSE (Address already in use)}. */
public final class SyscallException extends IOException {

    private final String call;
    private final int errno;

    public SyscallException(String call, int errno) {
        super(call + ": " + Errno.name(errno) + " (" + Errno.description(errno) + ")");
        this.call = call;
        this.errno = errno;
    }

    public String call() {
        return call;
    }

    public int errno() {
        return errno;
    }
}
