"""seqpacket_client.py <command> <server: path|@abstract> [args]

A client of our UnixSeqpacketServer: socket(AF_UNIX, SOCK_SEQPACKET) from the standard
socket module, blocking, with a 20 s guard on every call. Prints {"ready": true, "pid"} once
connected (race: before its first connection), then what its command reports, and exits
(closing its connections). Never sets SO_PASSCRED.

 sizes <server> <size>...   send one packet of each size (bytes i % 251) before reading any
                            reply, then read as many replies; prints {"replies": [{"size",
                            "intact", "truncated"}...]} where intact means the reply is the
                            exact packet sent.
 flood <server> <count>     send {"seq": k} for k < count as fast as the socket takes them,
                            reading nothing; the first time a send would block (the
                            connection is full), prints {"blocked": k} and then waits in send as
                            usual; at the end prints {"sent": count} and exits.
 fds <server> <n>           send "hello" and wait for its reply (so the server has the
                            connection set up), then one packet {"from": "python", "pid"} with n
                            pipe read ends (SCM_RIGHTS) whose pipes hold "py-fd-<i>", closing our
                            copies once sent; prints the reply {"reply": ...}.
 many <server> <conns> <rounds>
                            open <conns> connections at once; in each round send the number
                            c * 1000 + round on connection c, one connection after the other,
                            then read every connection's reply; the server keeps a running
                            total per connection. Prints {"totals": [[...per round] per conn]}.
 race <server> <n> <max_delay>
                            up to n times: connect, wait a random 0..max_delay seconds (busy, for
                            precision), send "who?" and read the reply, which is true if the
                            server saw our credentials; stop at the first false. Prints {"connections", "missing"}.
 empty <server>             send "hello" and read its reply, then send a zero-length packet,
                            then read again; prints {"reply", "then"} where then is the next
                            packet as text, or null for the end of the stream.
 hold <server>              send "hello", print the reply as {"reply"}, then wait for SIGUSR1;
                            then close the connection and print {"closed": true}.
"""
import array
import json
import os
import random
import signal
import socket
import sys
import time

from _common import emit, parse_addr, pattern

command, server = sys.argv[1], parse_addr(sys.argv[2])


def connect():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.settimeout(20)
    sock.connect(server)
    return sock


if command == 'sizes':
    sizes = [int(s) for s in sys.argv[3:]]
    sock = connect()
    emit(ready=True, pid=os.getpid())
    sent = [pattern(size) for size in sizes]
    for packet in sent:
        sock.send(packet)  # one packet each: seqpacket sends are all or nothing
    replies = []
    for packet in sent:
        data, _, flags, _ = sock.recvmsg(len(packet) + 4096)
        replies.append({'size': len(data), 'intact': data == packet, 'truncated': bool(flags & socket.MSG_TRUNC)})
    emit(replies=replies)
elif command == 'flood':
    count = int(sys.argv[3])
    sock = connect()
    emit(ready=True, pid=os.getpid())
    blocked = False
    sock.setblocking(False)  # until the first send that would block
    for k in range(count):
        packet = json.dumps({'seq': k}).encode()
        if not blocked:
            try:
                sock.send(packet)
                continue
            except BlockingIOError:
                blocked = True
                emit(blocked=k)
                sock.settimeout(20)
        sock.send(packet)
    emit(sent=count)
elif command == 'fds':
    n = int(sys.argv[3])
    sock = connect()
    emit(ready=True, pid=os.getpid())
    sock.send(b'"hello"')
    sock.recv(65536)
    ends = []
    for i in range(n):
        r, w = os.pipe()
        os.write(w, f'py-fd-{i}'.encode())
        os.close(w)
        ends.append(r)
    body = json.dumps({'from': 'python', 'pid': os.getpid()}).encode()
    sock.sendmsg([body], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', ends))])
    for r in ends:
        os.close(r)
    emit(reply=json.loads(sock.recv(65536)))
elif command == 'many':
    conns, rounds = int(sys.argv[3]), int(sys.argv[4])
    socks = [connect() for _ in range(conns)]
    emit(ready=True, pid=os.getpid())
    totals = [[] for _ in range(conns)]
    for r in range(rounds):
        for c, sock in enumerate(socks):
            sock.send(json.dumps(c * 1000 + r).encode())
        for c, sock in enumerate(socks):
            totals[c].append(json.loads(sock.recv(65536)))
    emit(totals=totals)
elif command == 'race':
    n, max_delay = int(sys.argv[3]), float(sys.argv[4])
    emit(ready=True, pid=os.getpid())
    connections = 0
    missing = 0
    while connections < n and missing == 0:
        sock = connect()
        deadline = time.perf_counter() + random.uniform(0, max_delay)
        while time.perf_counter() < deadline:
            pass
        sock.send(b'"who?"')
        if not json.loads(sock.recv(65536)):
            missing += 1
        sock.close()
        connections += 1
    emit(connections=connections, missing=missing)
elif command == 'empty':
    sock = connect()
    emit(ready=True, pid=os.getpid())
    sock.send(b'hello')
    reply = sock.recv(65536).decode()
    sock.send(b'')
    then = sock.recv(65536)
    emit(reply=reply, then=then.decode() if then else None)
elif command == 'hold':
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    sock = connect()
    emit(ready=True, pid=os.getpid())
    sock.send(b'hello')
    emit(reply=sock.recv(65536).decode())
    signal.sigwait([signal.SIGUSR1])  # the test signals us; we then close and exit
    sock.close()
    emit(closed=True)
else:
    sys.exit('unknown command ' + command)
