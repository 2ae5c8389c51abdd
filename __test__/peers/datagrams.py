"""datagrams.py <command> <path|@abstract> [args]

A peer of the `unixgram` command line, using only the standard socket module. Datagrams are
given and printed as hex, so any bytes (newlines, invalid UTF-8) pass unchanged.

 record <addr> <count> [linger]
     bind <addr>, print {"ready": true}, then {"hex", "sender"} for each of <count> datagrams;
     exit, or with 'linger' stay bound (never answering) until killed.
 send <addr> bound|unbound HEX [HEX...]
     print {"ready": true}, then sendto <addr> one datagram per HEX, from an autobound socket
     (the listener can answer) or an unbound one (it cannot); print {"sent": n} and exit.
 turns <addr> <senders> <rounds>
    make <senders> sockets, each autobound (an abstract name), print {"ready": true,
    "senders": [their names]}, then <rounds> times send from each in turn one datagram,
    "<sender index> <round>", blocking when <addr>'s queue is full; print {"sent": n}.
ask <addr> HEX [HEX...]
     autobind, connect, print {"ready": true}; for each HEX send it and wait for one datagram
     back, print {"reply": hex}; exit.
 full <addr> <extra> [room]
     bind <addr> and fill its own queue from a second socket (datagrams b"filler" until
     EAGAIN), then read <room> of them back (default 0: room for that many more), print
     {"ready": true, "queued": n}, then read nothing until SIGUSR1; then read the fillers,
     <extra> more datagrams (waiting for them) and whatever else is queued, and print
     {"received": [hex of every datagram that is not a filler]}.
Waits time out after 20 s (a failure guard).
"""
import signal
import socket
import sys

from _common import bound_socket, emit, parse_addr, show_addr

FILLER = b'filler'

command, target = sys.argv[1], sys.argv[2]
args = sys.argv[3:]

if command == 'record':
    sock = bound_socket(target)
    emit(ready=True)
    for _ in range(int(args[0])):
        data, sender = sock.recvfrom(1 << 20)
        emit(hex=data.hex(), sender=show_addr(sender))
    if args[1:] == ['linger']:
        signal.pause()
elif command == 'send':
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if args[0] == 'bound':
        sock.bind('')  # autobind
    emit(ready=True)
    for text in args[1:]:
        sock.sendto(bytes.fromhex(text), parse_addr(target))
    emit(sent=len(args) - 1)
elif command == 'turns':
    senders = [socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) for _ in range(int(args[0]))]
    for sock in senders:
        sock.settimeout(20)
        sock.bind('')  # autobind
    emit(ready=True, senders=[show_addr(sock.getsockname()) for sock in senders])
    for round_ in range(int(args[1])):
        for i, sock in enumerate(senders):
            sock.sendto(f'{i} {round_}'.encode(), parse_addr(target))
    emit(sent=len(senders) * int(args[1]))
elif command == 'ask':
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.settimeout(20)
    sock.bind('')
    sock.connect(parse_addr(target))
    emit(ready=True)
    for text in args:
        sock.send(bytes.fromhex(text))
        emit(reply=sock.recv(1 << 20).hex())
elif command == 'full':
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    sock = bound_socket(target)
    filler = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    filler.connect(parse_addr(target))
    filler.setblocking(False)
    queued = 0
    try:
        while True:
            filler.send(FILLER)
            queued += 1
    except BlockingIOError:
        pass
    for _ in range(int(args[1]) if len(args) > 1 else 0):
        sock.recv(1 << 20)
        queued -= 1
    emit(ready=True, queued=queued)
    signal.sigwait([signal.SIGUSR1])
    received, fillers, extra = [], 0, int(args[0])
    while fillers < queued or len(received) < extra:
        data = sock.recv(1 << 20)
        if data == FILLER:
            fillers += 1
        else:
            received.append(data.hex())
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(1 << 20)
            if data != FILLER:
                received.append(data.hex())
    except BlockingIOError:
        pass
    emit(received=received)
else:
    sys.exit('unknown command ' + command)
