"""bound_fd_receiver.py <path|@abstract>

Binds, prints {"ready": true}, receives one datagram with recvmsg (room for 253 fds), reads
each descriptor that came with it from the start, and prints {"data": text, "contents": [...]}.
"""
import os
import sys

from _common import bound_socket, emit, recv_all

sock = bound_socket(sys.argv[1])
emit(ready=True)
data, fds, _, _, _ = recv_all(sock)
contents = []
for fd in fds:
    os.lseek(fd, 0, os.SEEK_SET)
    contents.append(os.read(fd, 4096).decode())
    os.close(fd)
emit(data=data.decode(), contents=contents)
