"""Shared helpers for the python peers (standard library only)."""
import array
import json
import socket
import struct
import sys


def parse_addr(arg):
    """'@name' -> abstract b'\\0name' (exact length, no padding); anything else is a path."""
    if arg.startswith('@'):
        return b'\0' + arg[1:].encode()
    return arg


def show_addr(addr):
    """JSON form of a socket address: {"path"}, {"abstract_hex"} (name without the NUL) or {"unnamed"}."""
    if not addr:
        return {'unnamed': True}
    if isinstance(addr, str):
        addr = addr.encode()
    if addr[:1] == b'\0':
        return {'abstract_hex': addr[1:].hex()}
    return {'path': addr.decode()}


def emit(**fields):
    sys.stdout.write(json.dumps(fields) + '\n')
    sys.stdout.flush()


def bound_socket(arg, passcred=False):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if passcred:  # before bind: the very first datagram already carries credentials
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.bind(parse_addr(arg))
    sock.settimeout(20)
    return sock


def recv_all(sock, bufsize=8 * 1024 * 1024):
    """recvmsg with room for 253 fds and credentials -> (data, fds, creds, flags, addr)."""
    cmsg_space = socket.CMSG_SPACE(253 * 4) + socket.CMSG_SPACE(12)
    data, ancdata, flags, addr = sock.recvmsg(bufsize, cmsg_space)
    fds, creds = [], None
    for level, kind, payload in ancdata:
        if level != socket.SOL_SOCKET:
            continue
        if kind == socket.SCM_RIGHTS:
            arr = array.array('i')
            arr.frombytes(payload[:len(payload) - len(payload) % 4])
            fds.extend(arr)
        elif kind == socket.SCM_CREDENTIALS:
            pid, uid, gid = struct.unpack('iII', payload[:12])
            creds = {'pid': pid, 'uid': uid, 'gid': gid}
    return data, fds, creds, flags, addr


def pattern(size):
    """Deterministic bytes: byte i is i % 251."""
    block = bytes(range(251))
    return (block * (size // 251 + 1))[:size]
