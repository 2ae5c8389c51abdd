"""activation_client.py <mode> <server path> [texts...]

A peer of a socket-activated service, using only the standard socket module.

 dgram <server> <text>...  autobind (so it can be answered), then for each text: sendto the
                           server, wait for one datagram back (except for 'stop', which
                           the service does not answer). The first datagram is what makes
                           systemd-socket-activate start the service. Prints {"ready": true}
                           first, then {"replies": [...]} (UTF-8) and exits.
 udp <host:port> <text>... as dgram, over UDP from an ephemeral port.
 seqpacket <server> <text>... connect a SOCK_SEQPACKET socket, then as dgram over it.
 stream <server>           connect a stream socket (what starts a service on a stream socket),
                           print {"ready": true}, wait until the service closes it, print
                           {"closed": true}.
"""
import socket
import sys

from _common import emit

mode, server, texts = sys.argv[1], sys.argv[2], sys.argv[3:]
if mode == 'dgram':
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.settimeout(20)
    sock.bind('')
    emit(ready=True)
    replies = []
    for text in texts:
        sock.sendto(text.encode(), server)
        if text != 'stop':
            replies.append(sock.recv(65536).decode())
    emit(replies=replies)
elif mode in ('udp', 'seqpacket'):
    if mode == 'udp':
        host, port = server.rsplit(':', 1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect((host, int(port)))
    else:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.settimeout(20)
        sock.connect(server)
    sock.settimeout(20)
    emit(ready=True)
    replies = []
    for text in texts:
        sock.send(text.encode())
        if text != 'stop':
            replies.append(sock.recv(65536).decode())
    emit(replies=replies)
elif mode == 'stream':
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(20)
    sock.connect(server)
    emit(ready=True)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:  # the service closed the listening socket, never accepting
        pass
    emit(closed=True)
else:
    sys.exit('unknown mode ' + mode)
