"""line_receiver.py <path>

A metrics agent's socket: removes a stale socket file at <path> (as agents do on restart),
binds it, prints {"ready": true}, then prints {"line": ...} for every line of every datagram
until killed.
"""
import os
import stat
import sys

from _common import bound_socket, emit

path = sys.argv[1]
try:
    if stat.S_ISSOCK(os.lstat(path).st_mode):
        os.unlink(path)
except FileNotFoundError:
    pass
sock = bound_socket(path)
sock.settimeout(None)
emit(ready=True)
while True:
    for line in sock.recv(65536).decode().split('\n'):
        if line:
            emit(line=line)
