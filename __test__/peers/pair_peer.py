"""pair_peer.py <path|@abstract>

Makes a socketpair (so it is the peer process of both ends: SO_PEERCRED, SO_PEERPIDFD),
sends one end to <address> as the only descriptor (SCM_RIGHTS) of a datagram
{"pid": <its pid>}, prints {"ready": true, "pid", "uid", "gid"}, then answers every
datagram on its end with the same bytes, until it is killed.
"""
import array
import json
import os
import socket
import sys

from _common import emit, parse_addr

mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
rights = (socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [theirs.fileno()]))
sock.sendmsg([json.dumps({'pid': os.getpid()}).encode()], [rights], 0, parse_addr(sys.argv[1]))
theirs.close()
emit(ready=True, pid=os.getpid(), uid=os.getuid(), gid=os.getgid())
while True:
    mine.send(mine.recv(65536))
