package c10k.day03;

import c10k.day03.sys.Errno;

/**
 * What an error from {@code accept4} means for the loop that got it. accept(2) sorts them
 * into three kinds, and an accepting loop answers each kind the same way, whatever tells it
 * the listener is ready:
 * <ul>
 * <li>{@link Kind#GONE_ALREADY}: the failed connection is already gone ({@code ECONNABORTED},
 *     {@code EPROTO}, {@code EPERM} from a firewall rule, and the network errors the man page
 *     lists: "Linux accept() passes already-pending network errors on the new socket as an error
 *     code"). The queue behind it is fine: accept the next one at once.</li>
 * <li>{@link Kind#SHORT_OF_RESOURCES}: the kernel is short of descriptors ({@code EMFILE},
 *     {@code ENFILE}) or memory ({@code ENOBUFS}, {@code ENOMEM}). Retrying at once would fail
 *     again and spin: pause accepting ({@link AcceptPause}).</li>
 * <li>{@link Kind#BROKEN}: anything else ({@code EBADF}, {@code EINVAL}, {@code ENOTSOCK}): the
 *     listener itself is broken, and the server stops saying why.</li>
 * </ul>
 * A loop that dies on the first two kinds takes every client with it.
 */
public final class AcceptErrors {

    public enum Kind { GONE_ALREADY, SHORT_OF_RESOURCES, BROKEN }

    private AcceptErrors() {
    }

    public static Kind classify(int errno) {
        return switch (errno) {
            case Errno.EPROTO, Errno.EPERM, Errno.ENETDOWN, Errno.ENOPROTOOPT, Errno.EHOSTDOWN, Errno.ENONET,
                 Errno.EHOSTUNREACH, Errno.EOPNOTSUPP, Errno.ENETUNREACH, Errno.ETIMEDOUT, Errno.ECONNABORTED -> Kind.GONE_ALREADY;
            case Errno.EMFILE, Errno.ENFILE, Errno.ENOBUFS, Errno.ENOMEM -> Kind.SHORT_OF_RESOURCES;
            default -> Kind.BROKEN;
        };
    }
}
