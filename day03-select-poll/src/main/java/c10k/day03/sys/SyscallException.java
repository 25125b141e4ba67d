package c10k.day03.sys;

import java.io.IOException;

/**
 * A system call failed: names the call (with what it was called on, where that helps), the
 * errno and its meaning, e.g. {@code bind 10.255.255.1:9005: EADDRNOTAVAIL (cannot assign
 * requested address)}. {@code EAGAIN} is never one: the bindings return it as a result.
 */
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
