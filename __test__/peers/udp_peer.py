"""udp_peer.py <command> <host> [args]

A UDP peer of the `unixgram` UdpClient and UdpEndpoint, using only the standard socket
module: its socket is AF_INET or AF_INET6 as <host> is, bound to (<host>, 0). Every command
prints {"ready": true, "address", "port"} (its getsockname()) first. Datagrams are printed
as hex, addresses as {"address", "port"} (what recvfrom returned).

 exchange <host> <port> <count>
     sendto (<host>, <port>) <count> datagrams of distinct contents and sizes, print
     {"sent": [hex...]}, then wait for <count> datagrams and print {"hex", "from"} for each.
 record <host>
     print {"hex", "from"} for every datagram until one that is exactly b"END"; then print
     {"end": true, "from"} and exit.
 blast <host> <port> <count> <size> [gso]
     sendto (<host>, <port>) <count> datagrams of <size> bytes, datagram i being
     payload(i, size), as fast as the socket takes them; with 'gso', in sendmsg calls of up
     to 32 datagrams each, cut by the kernel (UDP_SEGMENT). Print {"sent": count}, exit.
 send <host> <port> HEX [HEX...]
     sendto (<host>, <port>) one datagram per HEX, print {"sent": n} and exit.
 echo <host> <port> <count>
     bound to (<host>, <port>) instead, answer each of <count> datagrams with b"re:" and
     the datagram, to its sender; print {"hex", "from"} for each, exit.
Waits time out after 20 s (a failure guard).
"""
import socket
import struct
import sys

from _common import emit

SOL_UDP = 17
UDP_SEGMENT = 103  # linux/udp.h
RCVBUF = 4 << 20  # room for every datagram a test sends (capped at net.core.rmem_max)


def payload(i, size):
    """Datagram i of a run: its index (4 bytes, big-endian), then bytes (i + k) % 256."""
    head = struct.pack('>I', i)[:size]
    body = bytes((i + k) % 256 for k in range(256)) * (size // 256 + 1)
    return head + body[:size - len(head)]


def exchange_payload(i):
    """Datagram i of an exchange: distinct text and binary, growing sizes (0 bytes too)."""
    if i == 0:
        return b''
    return b'dgram-%d\n' % i + bytes(range(256))[i % 256:] + b'\0' * i


def show(addr):
    return {'address': addr[0], 'port': addr[1]}


command, host = sys.argv[1], sys.argv[2]
args = sys.argv[3:]
family = socket.AF_INET6 if ':' in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
sock.bind((host, int(args[0]) if command == 'echo' else 0))
sock.settimeout(20)
local = sock.getsockname()
emit(ready=True, address=local[0], port=local[1])

if command == 'exchange':
    target, count = (host, int(args[0])), int(args[1])
    sent = [exchange_payload(i) for i in range(count)]
    for data in sent:
        sock.sendto(data, target)
    emit(sent=[data.hex() for data in sent])
    for _ in range(count):
        data, sender = sock.recvfrom(1 << 16)
        emit(hex=data.hex(), **{'from': show(sender)})
elif command == 'record':
    while True:
        data, sender = sock.recvfrom(1 << 16)
        if data == b'END':
            emit(end=True, **{'from': show(sender)})
            break
        emit(hex=data.hex(), **{'from': show(sender)})
elif command == 'blast':
    target, count, size = (host, int(args[0])), int(args[1]), int(args[2])
    gso = args[3:] == ['gso']
    datagrams = [payload(i, size) for i in range(count)]
    if gso:
        for start in range(0, count, 32):
            run = datagrams[start:start + 32]
            segment = [(SOL_UDP, UDP_SEGMENT, struct.pack('=H', size))]
            sock.sendmsg([b''.join(run)], segment if len(run) > 1 else [], 0, target)
    else:
        for data in datagrams:
            sock.sendto(data, target)
    emit(sent=count)
elif command == 'send':
    target = (host, int(args[0]))
    for text in args[1:]:
        sock.sendto(bytes.fromhex(text), target)
    emit(sent=len(args) - 1)
elif command == 'echo':
    for _ in range(int(args[1])):
        data, sender = sock.recvfrom(1 << 16)
        sock.sendto(b're:' + data, sender)
        emit(hex=data.hex(), **{'from': show(sender)})
else:
    sys.exit('unknown command ' + command)
