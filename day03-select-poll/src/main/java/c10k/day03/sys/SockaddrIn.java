package c10k.day03.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;

/**
 * {@code struct sockaddr_in}, the IPv4 address the socket calls take (ip(7)).
 *
 * <pre>
 * struct sockaddr_in {
 *     sa_family_t    sin_family;   // AF_INET, host byte order      offset 0, 2 bytes
 *     in_port_t      sin_port;     // port, NETWORK byte order      offset 2, 2 bytes
 *     struct in_addr sin_addr;     // address, NETWORK byte order   offset 4, 4 bytes
 *     char           sin_zero[8];  // padding to sizeof(struct sockaddr)
 * };                                                             // 16 bytes
 * </pre>
 * The port and address are big-endian whatever the CPU: the layout says so, so no code has
 * to remember {@code htons}.
 */
public final class SockaddrIn {

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sin_family"),
            JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN).withName("sin_port"),
            JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN).withName("sin_addr"),
            MemoryLayout.sequenceLayout(8, JAVA_BYTE).withName("sin_zero"));

    private static final VarHandle FAMILY = LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("sin_family"));
    private static final VarHandle PORT = LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("sin_port"));
    private static final VarHandle ADDR = LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("sin_addr"));

    private SockaddrIn() {
    }

    /** Fills {@code s} (zeroed first) with {@code host:port}; the host must be IPv4. */
    public static void set(MemorySegment s, String host, int port) throws UnknownHostException {
        InetAddress address = InetAddress.getByName(host);
        if (!(address instanceof Inet4Address)) throw new UnknownHostException(host + " is not an IPv4 address");
        byte[] a = address.getAddress();
        int ip = (a[0] & 0xff) << 24 | (a[1] & 0xff) << 16 | (a[2] & 0xff) << 8 | (a[3] & 0xff);
        s.fill((byte) 0);
        FAMILY.set(s, 0L, (short) Sockets.AF_INET);
        PORT.set(s, 0L, (short) port);
        ADDR.set(s, 0L, ip);
    }

    public static int port(MemorySegment s) {
        return Short.toUnsignedInt((short) PORT.get(s, 0L));
    }
}
