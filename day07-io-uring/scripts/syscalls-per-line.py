#!/usr/bin/env python3
"""Counts the system calls one server loop thread makes for 1,000 echoed lines.

usage: syscalls-per-line.py PORT PID THREAD-NAME-PREFIX CONNECTIONS [rt|pipe]

Connects CONNECTIONS clients, warms the server up with 3,000 lines, attaches
`strace -c` to the loop thread only (found by its name in /proc/PID/task/*/comm,
e.g. day04-et or day07-basic), sends 1,000 more lines and prints strace's table.
rt: each client sends a line and waits for its echo (round trips); pipe: each
client sends its lines in one write. The JVM's other threads (JIT, GC) are not
counted: only the loop's own calls are the point.
"""
import glob, signal, socket, subprocess, sys, threading, time

port, pid, prefix, conns = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
style = sys.argv[5] if len(sys.argv) > 5 else "rt"

def loop_thread():
    for t in glob.glob("/proc/%s/task/*" % pid):
        if open(t + "/comm").read().strip().startswith(prefix):
            return t.rsplit("/", 1)[1]
    sys.exit("no thread named %s* in process %s" % (prefix, pid))

clients = []
for _ in range(conns):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    clients.append((s, s.makefile("rb")))

def client(s, f, n):
    lines = [b"line %d of the measurement\n" % i for i in range(n)]
    if style == "rt":
        for line in lines:
            s.sendall(line)
            assert f.readline() == line
    else:
        data = b"".join(lines)
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            got += f.read1(65536)
        assert got == data

def run(total):
    threads = [threading.Thread(target=client, args=(s, f, total // conns)) for s, f in clients]
    for t in threads: t.start()
    for t in threads: t.join()

run(3000)
out = "/tmp/syscalls-%s-%d-%s.txt" % (prefix, conns, style)
strace = subprocess.Popen(["strace", "-c", "-p", loop_thread(), "-o", out], stderr=subprocess.DEVNULL)
time.sleep(1.0)   # attached
run(1000)
time.sleep(0.3)
strace.send_signal(signal.SIGINT)
strace.wait()
print(open(out).read())
