"""echo_server.py <path|@abstract> [max_datagrams]

Binds a datagram socket (SO_PASSCRED on, SO_SNDBUF 4 MB) and answers each datagram to its sender:
 * a datagram carrying fds, or the JSON text "describe", gets a JSON description back:
   {"payload": text, "creds": {pid,uid,gid}, "sender": addr, "flags": int,
    "fds": [{"data": text read from the fd, "cloexec": bool}]}   (the fds are then closed)
 * anything else is echoed back byte for byte.
Prints {"ready": true, "pid", "uid", "gid", "address"} once bound, one line per datagram after.
Exits after max_datagrams (default 100) or 20 s without a datagram.
"""
import fcntl
import json
import os
import socket
import sys

from _common import bound_socket, emit, recv_all, show_addr

sock = bound_socket(sys.argv[1], passcred=True)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 100
emit(ready=True, pid=os.getpid(), uid=os.getuid(), gid=os.getgid(),
     address=show_addr(sock.getsockname()))


def read_fd(fd):
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 65536).decode(errors='replace')
    except BlockingIOError:  # empty pipe that still has a writer
        return ''


for _ in range(limit):
    try:
        data, fds, creds, flags, addr = recv_all(sock)
    except socket.timeout:
        break
    if fds or data == b'"describe"':
        described = []
        for fd in fds:
            cloexec = bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)
            described.append({'data': read_fd(fd), 'cloexec': cloexec})
            os.close(fd)
        reply = json.dumps({'payload': data.decode(errors='replace'), 'creds': creds,
                            'sender': show_addr(addr), 'flags': flags, 'fds': described}).encode()
    else:
        reply = data
    if addr:
        sock.sendto(reply, addr)
    emit(received=len(data), fds=len(fds), creds=creds, sender=show_addr(addr))
