"""bound_receiver.py <path|@abstract> <expected> [pause_seconds]

Binds, prints {"ready": true}, then does not read for pause_seconds (default 0.5) so the
sender meets a full queue, then drains until <expected> datagrams arrived (or 20 s of silence).
Each datagram is expected to be the JSON {"seq": n}; prints
{"count": c, "in_order": bool, "first_bad": n|null} and exits.
"""
import json
import socket
import sys
import time

from _common import bound_socket, emit

sock = bound_socket(sys.argv[1])
expected = int(sys.argv[2])
pause = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5
emit(ready=True)
time.sleep(pause)  # peer behaviour: a receiver that is slow to start reading

count, first_bad = 0, None
while count < expected:
    try:
        data = sock.recv(4096)
    except socket.timeout:
        break
    try:
        seq = json.loads(data)['seq']
    except (ValueError, KeyError, TypeError):
        seq = None
    if seq != count and first_bad is None:
        first_bad = count
    count += 1
emit(count=count, in_order=first_bad is None, first_bad=first_bad)
