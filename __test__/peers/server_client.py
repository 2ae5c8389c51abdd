"""server_client.py <command> <server: path|@abstract> [args]

A client of our UnixDatagramServer, using only the standard socket module.

 echo <server> <count>   autobind, connect, send count JSON packets {"i": k, "pid": pid} one by one,
                         expect each echoed back; prints {"ready": true, "pid", "address"} first, then
                         {"done": count, "ok": bool, "replies": [...] } and exits.
 unbound <server> <text> an unbound socket (never bound, so it cannot be answered) sends <text>
                         (UTF-8); prints {"ready": true, "pid"} first, then {"sent": true}.
 slow <server> <count>   autobind, sendto (no connect: the kernel then caps our queue at
                         net.unix.max_dgram_qlen) the text "flood", print {"ready": true}, then read
                         nothing until SIGUSR1; then read <count> datagrams, print {"received": [...]}.
"""
import json
import os
import signal
import socket
import sys

from _common import emit, parse_addr, show_addr

command, server = sys.argv[1], parse_addr(sys.argv[2])
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.settimeout(20)

if command == 'echo':
    count = int(sys.argv[3])
    sock.bind('')  # autobind: the kernel picks an abstract name, so the server can answer
    sock.connect(server)
    emit(ready=True, pid=os.getpid(), address=show_addr(sock.getsockname()))
    replies, ok = [], True
    for k in range(count):
        sent = {'i': k, 'pid': os.getpid()}
        sock.send(json.dumps(sent).encode())
        reply = json.loads(sock.recv(65536))
        replies.append(reply)
        ok = ok and reply == sent
    emit(done=count, ok=ok, replies=replies)
elif command == 'unbound':
    emit(ready=True, pid=os.getpid())
    sock.sendto(sys.argv[3].encode(), server)
    emit(sent=True)
elif command == 'slow':
    count = int(sys.argv[3])
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    sock.bind('')
    sock.sendto(b'"flood"', server)
    emit(ready=True)
    signal.sigwait([signal.SIGUSR1])
    emit(received=[json.loads(sock.recv(65536)) for _ in range(count)])
else:
    sys.exit('unknown command ' + command)
