package c10k.day03.sys;

import java.util.HashMap;
import java.util.Map;

/**
 * The errno values a server can meet, with their names and their meaning in strerror(3)'s
 * words (lowercased to sit inside a sentence). The numbers are the same on every Linux
 * architecture the JDK runs on: asm-generic/errno-base.h (1 to 34) and asm-generic/errno.h;
 * errno(3) says when each one happens.
 *
 * <p>An errno this table does not know is shown by number, with a pointer to errno(3): the
 * book names every one it can meet, so that is a bug to report, not a mystery.
 */
public final class Errno {

    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EINTR = 4;   // a signal arrived during a blocking call: retry it
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int E2BIG = 7;
    public static final int ENOEXEC = 8;
    public static final int EBADF = 9;
    public static final int ECHILD = 10;
    public static final int EAGAIN = 11;   // == EWOULDBLOCK on Linux: a result on a non-blocking fd, not an error
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int ENOTBLK = 15;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int EXDEV = 18;
    public static final int ENODEV = 19;
    public static final int ENOTDIR = 20;
    public static final int EISDIR = 21;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;   // RLIMIT_NOFILE reached
    public static final int ENOTTY = 25;
    public static final int ETXTBSY = 26;
    public static final int EFBIG = 27;
    public static final int ENOSPC = 28;
    public static final int ESPIPE = 29;
    public static final int EROFS = 30;
    public static final int EMLINK = 31;
    public static final int EPIPE = 32;   // send(2) to a peer that is gone (MSG_NOSIGNAL: no SIGPIPE)
    public static final int EDOM = 33;
    public static final int ERANGE = 34;
    public static final int EDEADLK = 35;
    public static final int ENAMETOOLONG = 36;
    public static final int ENOLCK = 37;
    public static final int ENOSYS = 38;
    public static final int ENOTEMPTY = 39;
    public static final int ELOOP = 40;
    public static final int ENOSR = 63;
    public static final int ENONET = 64;
    public static final int EPROTO = 71;
    public static final int EOVERFLOW = 75;
    public static final int ENOTSOCK = 88;
    public static final int EDESTADDRREQ = 89;
    public static final int EMSGSIZE = 90;
    public static final int EPROTOTYPE = 91;
    public static final int ENOPROTOOPT = 92;
    public static final int EPROTONOSUPPORT = 93;
    public static final int ESOCKTNOSUPPORT = 94;
    public static final int EOPNOTSUPP = 95;
    public static final int EPFNOSUPPORT = 96;
    public static final int EAFNOSUPPORT = 97;
    public static final int EADDRINUSE = 98;   // bind(2): the port is taken
    public static final int EADDRNOTAVAIL = 99;   // bind(2): the address is not this machine's
    public static final int ENETDOWN = 100;
    public static final int ENETUNREACH = 101;
    public static final int ENETRESET = 102;
    public static final int ECONNABORTED = 103;   // accept4(2): the client reset before we accepted
    public static final int ECONNRESET = 104;
    public static final int ENOBUFS = 105;
    public static final int EISCONN = 106;
    public static final int ENOTCONN = 107;
    public static final int ESHUTDOWN = 108;
    public static final int ETIMEDOUT = 110;
    public static final int ECONNREFUSED = 111;
    public static final int EHOSTDOWN = 112;
    public static final int EHOSTUNREACH = 113;
    public static final int EALREADY = 114;
    public static final int EINPROGRESS = 115;
    public static final int ECANCELED = 125;
    public static final int ETIME = 62;   // io_uring: a timeout request, or a wait with a timeout, expired
    public static final int EBADFD = 77;   // io_uring: a ring set up disabled that nobody has enabled yet

    private record Row(int number, String name, String words) {
    }

    /** Name and words, by number: the text glibc's strerror gives, first letter lowercased. */
    private static final Map<Integer, Row> TABLE = new HashMap<>();

    static {
        for (Row row : new Row[] {
            new Row(EPERM, "EPERM", "operation not permitted"),
            new Row(ENOENT, "ENOENT", "no such file or directory"),
            new Row(ESRCH, "ESRCH", "no such process"),
            new Row(EINTR, "EINTR", "interrupted system call"),
            new Row(EIO, "EIO", "input/output error"),
            new Row(ENXIO, "ENXIO", "no such device or address"),
            new Row(E2BIG, "E2BIG", "argument list too long"),
            new Row(ENOEXEC, "ENOEXEC", "exec format error"),
            new Row(EBADF, "EBADF", "bad file descriptor"),
            new Row(ECHILD, "ECHILD", "no child processes"),
            new Row(EAGAIN, "EAGAIN", "resource temporarily unavailable"),
            new Row(ENOMEM, "ENOMEM", "cannot allocate memory"),
            new Row(EACCES, "EACCES", "permission denied"),
            new Row(EFAULT, "EFAULT", "bad address"),
            new Row(ENOTBLK, "ENOTBLK", "block device required"),
            new Row(EBUSY, "EBUSY", "device or resource busy"),
            new Row(EEXIST, "EEXIST", "file exists"),
            new Row(EXDEV, "EXDEV", "invalid cross-device link"),
            new Row(ENODEV, "ENODEV", "no such device"),
            new Row(ENOTDIR, "ENOTDIR", "not a directory"),
            new Row(EISDIR, "EISDIR", "is a directory"),
            new Row(EINVAL, "EINVAL", "invalid argument"),
            new Row(ENFILE, "ENFILE", "too many open files in system"),
            new Row(EMFILE, "EMFILE", "too many open files"),
            new Row(ENOTTY, "ENOTTY", "inappropriate ioctl for device"),
            new Row(ETXTBSY, "ETXTBSY", "text file busy"),
            new Row(EFBIG, "EFBIG", "file too large"),
            new Row(ENOSPC, "ENOSPC", "no space left on device"),
            new Row(ESPIPE, "ESPIPE", "illegal seek"),
            new Row(EROFS, "EROFS", "read-only file system"),
            new Row(EMLINK, "EMLINK", "too many links"),
            new Row(EPIPE, "EPIPE", "broken pipe"),
            new Row(EDOM, "EDOM", "numerical argument out of domain"),
            new Row(ERANGE, "ERANGE", "numerical result out of range"),
            new Row(EDEADLK, "EDEADLK", "resource deadlock avoided"),
            new Row(ENAMETOOLONG, "ENAMETOOLONG", "file name too long"),
            new Row(ENOLCK, "ENOLCK", "no locks available"),
            new Row(ENOSYS, "ENOSYS", "function not implemented"),
            new Row(ENOTEMPTY, "ENOTEMPTY", "directory not empty"),
            new Row(ELOOP, "ELOOP", "too many levels of symbolic links"),
            new Row(ENOSR, "ENOSR", "out of streams resources"),
            new Row(ENONET, "ENONET", "machine is not on the network"),
            new Row(EPROTO, "EPROTO", "protocol error"),
            new Row(EOVERFLOW, "EOVERFLOW", "value too large for defined data type"),
            new Row(ENOTSOCK, "ENOTSOCK", "socket operation on non-socket"),
            new Row(EDESTADDRREQ, "EDESTADDRREQ", "destination address required"),
            new Row(EMSGSIZE, "EMSGSIZE", "message too long"),
            new Row(EPROTOTYPE, "EPROTOTYPE", "protocol wrong type for socket"),
            new Row(ENOPROTOOPT, "ENOPROTOOPT", "protocol not available"),
            new Row(EPROTONOSUPPORT, "EPROTONOSUPPORT", "protocol not supported"),
            new Row(ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT", "socket type not supported"),
            new Row(EOPNOTSUPP, "EOPNOTSUPP", "operation not supported"),
            new Row(EPFNOSUPPORT, "EPFNOSUPPORT", "protocol family not supported"),
            new Row(EAFNOSUPPORT, "EAFNOSUPPORT", "address family not supported by protocol"),
            new Row(EADDRINUSE, "EADDRINUSE", "address already in use"),
            new Row(EADDRNOTAVAIL, "EADDRNOTAVAIL", "cannot assign requested address"),
            new Row(ENETDOWN, "ENETDOWN", "network is down"),
            new Row(ENETUNREACH, "ENETUNREACH", "network is unreachable"),
            new Row(ENETRESET, "ENETRESET", "network dropped connection on reset"),
            new Row(ECONNABORTED, "ECONNABORTED", "software caused connection abort"),
            new Row(ECONNRESET, "ECONNRESET", "connection reset by peer"),
            new Row(ENOBUFS, "ENOBUFS", "no buffer space available"),
            new Row(EISCONN, "EISCONN", "transport endpoint is already connected"),
            new Row(ENOTCONN, "ENOTCONN", "transport endpoint is not connected"),
            new Row(ESHUTDOWN, "ESHUTDOWN", "cannot send after transport endpoint shutdown"),
            new Row(ETIMEDOUT, "ETIMEDOUT", "connection timed out"),
            new Row(ECONNREFUSED, "ECONNREFUSED", "connection refused"),
            new Row(EHOSTDOWN, "EHOSTDOWN", "host is down"),
            new Row(EHOSTUNREACH, "EHOSTUNREACH", "no route to host"),
            new Row(EALREADY, "EALREADY", "operation already in progress"),
            new Row(EINPROGRESS, "EINPROGRESS", "operation now in progress"),
            new Row(ECANCELED, "ECANCELED", "operation canceled"),
            new Row(ETIME, "ETIME", "timer expired"),
            new Row(EBADFD, "EBADFD", "file descriptor in bad state")
        }) {
            TABLE.put(row.number(), row);
        }
    }

    private Errno() {
    }

    /** The symbolic name, e.g. {@code EADDRINUSE}; {@code errno 200} if unknown. */
    public static String name(int errno) {
        Row row = TABLE.get(errno);
        return row != null ? row.name() : "errno " + errno;
    }

    /** What it means, e.g. {@code address already in use}. */
    public static String description(int errno) {
        Row row = TABLE.get(errno);
        return row != null ? row.words() : "unknown to the book, see errno(3)";
    }
}
