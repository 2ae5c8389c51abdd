"""pidfd_sender.py <path|@abstract> <then> [payload]

From an unbound socket, sends one datagram to <address> (payload: the text given, default
{"from": "python", "pid": <its pid>}), then prints {"ready": true, "pid", "uid", "gid"},
and then, according to <then>:
  stay   waits until it is killed (a sender that is still alive)
  exit   exits at once (a sender that is gone before its datagram is read)
"""
import json
import os
import signal
import socket
import sys

from _common import emit, parse_addr

target, then = parse_addr(sys.argv[1]), sys.argv[2]
payload = sys.argv[3] if len(sys.argv) > 3 else json.dumps({'from': 'python', 'pid': os.getpid()})
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.sendto(payload.encode(), target)
emit(ready=True, pid=os.getpid(), uid=os.getuid(), gid=os.getgid())
if then == 'stay':
    signal.pause()
elif then != 'exit':
    sys.exit(f'unknown <then> {then}')
