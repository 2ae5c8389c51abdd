"""sender.py <path|@abstract> <mode> [args...]

Binds, prints {"ready": true, "pid", "uid", "gid"}, waits for one datagram (the "go" signal),
then connect()s to that datagram's sender and sends, according to <mode>:
  raw HEX [HEX...]   one datagram per argument (hex-encoded bytes; '' is a 0-byte datagram)
  big SIZE           one datagram of SIZE bytes (byte i = i % 251), SO_SNDBUF raised first
  fds K [HEX]        one datagram (payload HEX, default '{}') carrying K fds with content
                     'fd-<i>': even i a memfd, odd i the read end of a pipe
  memfd SIZE SEALS   one 0-byte datagram carrying one memfd of SIZE bytes (byte i = i % 251)
                     with SEALS added: comma-separated names of F_SEAL_* (write,shrink,grow,
                     seal), or 'none' (journald's native protocol, for an entry this large)
  seq COUNT SIZE     COUNT datagrams of SIZE bytes, blocking: datagram i is i as 4 bytes
                     big-endian, then the byte i % 251 repeated
Prints {"sent": n} and exits; 20 s timeout on the wait.
"""
import fcntl
import os
import socket
import sys

from _common import bound_socket, emit, pattern, recv_all

sock = bound_socket(sys.argv[1])
mode, args = sys.argv[2], sys.argv[3:]
emit(ready=True, pid=os.getpid(), uid=os.getuid(), gid=os.getgid())
_, _, _, _, peer = recv_all(sock)
sock.connect(peer)

if mode == 'raw':
    for arg in args:
        sock.send(bytes.fromhex(arg))
    emit(sent=len(args))
elif mode == 'big':
    size = int(args[0])
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size + 65536)
    emit(sent=sock.send(pattern(size)))
elif mode == 'fds':
    count = int(args[0])
    payload = bytes.fromhex(args[1]) if len(args) > 1 else b'{}'
    fds = []
    for i in range(count):
        content = f'fd-{i}'.encode()
        if i % 2 == 0:
            fd = os.memfd_create(f'fd-{i}')
            os.write(fd, content)
            os.lseek(fd, 0, os.SEEK_SET)
        else:
            fd, w = os.pipe()
            os.write(w, content)
            os.close(w)  # the reader sees the content, then EOF
        fds.append(fd)
    socket.send_fds(sock, [payload], fds)
    for fd in fds:
        os.close(fd)
    emit(sent=count)
elif mode == 'memfd':
    size, names = int(args[0]), args[1]
    fd = os.memfd_create('python-peer', os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    data = pattern(size)
    while data:
        data = data[os.write(fd, data):]
    seals = 0
    for name in [] if names == 'none' else names.split(','):
        seals |= getattr(fcntl, f'F_SEAL_{name.upper()}')
    if seals:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    socket.send_fds(sock, [b''], [fd])
    os.close(fd)
    emit(sent=size)
elif mode == 'seq':
    count, size = int(args[0]), int(args[1])
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * size + 65536)
    for i in range(count):
        sock.send(i.to_bytes(4, 'big') + bytes([i % 251]) * (size - 4))
    emit(sent=count)
else:
    sys.exit(f'unknown mode {mode}')
