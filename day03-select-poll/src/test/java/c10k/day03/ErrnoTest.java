package c10k.day03;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import c10k.day03.sys.Errno;
import c10k.day03.sys.Libc;
import c10k.day03.sys.SyscallException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

class ErrnoTest {

    /** Every public int constant of Errno: its field name and value. */
    static List<Field> constants() {
        List<Field> out = new ArrayList<>();
        for (Field f : Errno.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class) out.add(f);
        }
        return out;
    }

    @Test
    void namesEveryErrnoTheBookCanMeet() throws Exception {
        List<String> names = new ArrayList<>();
        for (Field f : constants()) {
            int errno = f.getInt(null);
            assertThat(Errno.name(errno)).as("the name of " + errno).isEqualTo(f.getName());
            assertThat(Errno.description(errno)).as(f.getName()).doesNotContain("errno(3)").matches("[a-z0-9].*");
            names.add(f.getName());
        }
        for (int errno = 1; errno <= 34; errno++) {
            assertThat(Errno.name(errno)).as("errno-base.h's " + errno).doesNotStartWith("errno ");
        }
        assertThat(names).contains("EAGAIN", "ENOBUFS", "EPROTO", "EOPNOTSUPP", "ENETDOWN", "ENETUNREACH", "EHOSTDOWN",
                "EHOSTUNREACH", "ENONET", "EADDRINUSE", "EADDRNOTAVAIL", "ECONNABORTED", "ECONNRESET", "ENOTCONN",
                "ETIMEDOUT", "ECONNREFUSED", "ENOTSOCK", "EALREADY", "EINPROGRESS", "ENOSYS", "ECANCELED", "EOVERFLOW",
                "EBUSY", "EEXIST", "ENOENT", "EPERM", "ENOSR");
    }

    @Test
    void anUnknownErrnoIsShownByNumber() {
        assertThat(Errno.name(4095)).isEqualTo("errno 4095");
        assertThat(Errno.description(4095)).contains("errno(3)");
    }

    @Test
    void aFailedBindReadsLikeASentence() {
        assertThat(new SyscallException("bind 10.255.255.1:9005", Errno.EADDRNOTAVAIL))
                .hasMessage("bind 10.255.255.1:9005: EADDRNOTAVAIL (cannot assign requested address)");
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void theWordsAreTheCLibrarysOwn() throws Throwable {
        // char *strerror(int errnum);  glibc's texts; musl words some differently.
        MethodHandle strerror = Libc.LINKER.downcallHandle(Libc.LOOKUP.find("strerror").orElseThrow(),
                FunctionDescriptor.of(ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(1024, JAVA_BYTE)), JAVA_INT));
        assumeThat(text(strerror, Errno.EPERM)).as("glibc").isEqualTo("Operation not permitted");
        for (Field f : constants()) {
            int errno = f.getInt(null);
            String c = text(strerror, errno);
            assertThat(Errno.description(errno)).as(f.getName()).isEqualTo(Character.toLowerCase(c.charAt(0)) + c.substring(1));
        }
    }

    private static String text(MethodHandle strerror, int errno) throws Throwable {
        MemorySegment s = (MemorySegment) strerror.invokeExact(errno);
        return s.getString(0);
    }
}
