"""held_receiver.py <path> [server]

Binds <path> (not connected to anyone, so the kernel's max_dgram_qlen applies), sends b"go"
to [server] if given (from <path>, so replies come back here), prints {"ready": true}, and
reads nothing until SIGUSR1: its queue fills and senders wait. Then it reads every datagram
until one is b"END" and prints {"got": [...]} (the others, in order).
"""
import signal
import sys

from _common import bound_socket, emit

signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
sock = bound_socket(sys.argv[1])
if len(sys.argv) > 2:
    sock.sendto(b"go", sys.argv[2])
emit(ready=True)
signal.sigwait([signal.SIGUSR1])
got = []
while True:
    data = sock.recv(65536)
    if data == b"END":
        break
    got.append(data.decode())
emit(got=got)
