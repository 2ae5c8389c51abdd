"""notify_receiver.py <path|@abstract> [hold]

A service manager's notification socket, as systemd makes it: SOCK_DGRAM, SO_PASSCRED on
before the bind (so every datagram carries its sender's credentials). Prints {"ready": true},
then one line per datagram received:
  {"text", "hex", "fds": [{"link", "content"}], "creds": {"pid", "uid", "gid"} | null}
where "link" is what /proc/self/fd/N names and "content" the first 64 bytes of a regular
file (pread at offset 0; null for anything else).
The descriptors are closed once printed, as systemd closes those it does not keep (for
BARRIER=1: at once). With 'hold' they are kept open instead, until a datagram 'CLOSE-FDS'
arrives: then all held ones are closed and {"closedFds": n} printed.
Exits after 20 s without a datagram.
"""
import os
import socket
import stat
import sys

from _common import bound_socket, emit, recv_all

sock = bound_socket(sys.argv[1], passcred=True)
hold = len(sys.argv) > 2 and sys.argv[2] == 'hold'
held = []
emit(ready=True)


def describe(fd):
    link = os.readlink('/proc/self/fd/%d' % fd)
    content = None
    if stat.S_ISREG(os.fstat(fd).st_mode):
        content = os.pread(fd, 64, 0).decode('utf-8', 'replace')
    return {'link': link, 'content': content}


while True:
    try:
        data, fds, creds, _, _ = recv_all(sock)
    except socket.timeout:
        break
    if hold and data == b'CLOSE-FDS':
        for fd in held:
            os.close(fd)
        emit(closedFds=len(held))
        held = []
        continue
    emit(text=data.decode('utf-8', 'replace'), hex=data.hex(), fds=[describe(fd) for fd in fds], creds=creds)
    if hold:
        held.extend(fds)
    else:
        for fd in fds:
            os.close(fd)
