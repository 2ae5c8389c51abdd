"""seqpacket_server.py <command> <path|@abstract> [args]

A listening socket(AF_UNIX, SOCK_SEQPACKET) from the standard socket module, for our
UnixSeqpacketClient. Binds, listens, prints {"ready": true, "pid"}, then accepts one
connection (blocking, 20 s guard on every call) and runs its command.

 echo <addr> <n> <bye>   receive n packets, answering each with b"echo:" + packet; then send
                         <bye> packets "bye-<i>" and close the connection; prints
                         {"received": [packets as text]}.
 late <addr> <count> <sleep>
                         sleep <sleep> seconds before reading anything, then receive <count>
                         JSON packets {"seq"}; prints {"count", "in_order", "first_bad"}.
 pass <addr>             make socketpair(AF_UNIX, SOCK_SEQPACKET), send one end (SCM_RIGHTS) in
                         a packet "take", close our copy of it; then on the other end answer one
                         packet with "py got " + packet and print {"got": text}.
 measure <addr> <count>  receive <count> packets (room for 16 MiB each); prints {"packets":
                         [{"size", "intact", "truncated"}]}, intact meaning bytes i % 251.
 empty <addr>            send "one", a zero-length packet, then "after-empty" (if the client has
                         not closed yet); then wait for the end of the stream and print
                         {"eof": true}.
 stale <addr>            bind and listen, then exit at once without unlinking: the socket file
                         stays and nothing answers on it.
 hold <addr>             bind and listen, accept nothing, wait until killed.
"""
import array
import json
import os
import socket
import sys
import time

from _common import emit, parse_addr, pattern

command, addr = sys.argv[1], parse_addr(sys.argv[2])
listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
listener.bind(addr)
listener.listen(16)
listener.settimeout(20)
emit(ready=True, pid=os.getpid())

if command == 'stale':
    os._exit(0)  # no close, no unlink: the file stays behind
if command == 'hold':
    while True:
        time.sleep(3600)

conn, _ = listener.accept()
conn.settimeout(20)

if command == 'echo':
    n, bye = int(sys.argv[3]), int(sys.argv[4])
    received = []
    for _ in range(n):
        data = conn.recv(1 << 20)
        received.append(data.decode())
        conn.send(b'echo:' + data)
    for i in range(bye):
        conn.send(f'bye-{i}'.encode())
    conn.close()
    emit(received=received)
elif command == 'late':
    count, pause = int(sys.argv[3]), float(sys.argv[4])
    time.sleep(pause)  # peer behaviour: the sender fills our queue meanwhile
    first_bad = None
    for k in range(count):
        seq = json.loads(conn.recv(65536))['seq']
        if seq != k and first_bad is None:
            first_bad = k
    emit(count=count, in_order=first_bad is None, first_bad=first_bad)
elif command == 'measure':
    packets = []
    for _ in range(int(sys.argv[3])):
        data, _, flags, _ = conn.recvmsg(16 << 20)
        packets.append({'size': len(data), 'intact': data == pattern(len(data)), 'truncated': bool(flags & socket.MSG_TRUNC)})
    emit(packets=packets)
elif command == 'empty':
    conn.send(b'one')
    conn.send(b'')
    try:
        conn.send(b'after-empty')
        while conn.recv(65536):
            pass
    except BrokenPipeError:
        pass  # the client took the empty packet as the end and closed before this was sent
    emit(eof=True)
elif command == 'pass':
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    mine.settimeout(20)
    conn.sendmsg([b'take'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [theirs.fileno()]))])
    theirs.close()
    data = mine.recv(65536)
    mine.send(b'py got ' + data)
    emit(got=data.decode())
    mine.recv(65536)  # wait for the end of the stream before exiting
else:
    sys.exit('unknown command ' + command)
