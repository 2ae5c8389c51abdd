"""journal_sender.py <socket> <how> <entry-file> [uid]

Sends the bytes of <entry-file> (one journald native-protocol entry) to journald's native
socket <socket>, the way sd_journal_sendv(3) does, with only the standard library:
 datagram        the entry as one datagram (sd_journal_sendv's first try)
 sealed-memfd    memfd_create(MFD_ALLOW_SEALING), write, F_ADD_SEALS SHRINK|GROW|WRITE|SEAL,
                 then a 0-byte datagram carrying the fd in SCM_RIGHTS (its fallback on
                 EMSGSIZE/ENOBUFS)
 unsealed-memfd  the same memfd with no seals
 noexec-memfd    memfd_create(MFD_ALLOW_SEALING|MFD_NOEXEC_SEAL): the kernel (>= 6.3) adds
                 F_SEAL_EXEC, then the same four seals
With [uid], drops to that uid (and gid, no supplementary groups) before making the memfd and
the socket, so journald sees an unprivileged sender. Datagrams go out with sendmsg() and an
address, from an unbound socket, as sd_journal_sendv sends them (python 3.11's
socket.send_fds() drops its address argument).
Prints {"pid", "uid", "bytes", "seals"?} and exits 0, or {"pid", "uid", "error": "EMSGSIZE"...}
when making the memfd or sending fails (exit 0 too: the caller asserts the errno).
"""
import errno
import fcntl
import os
import socket
import struct
import sys

from _common import emit

MFD_ALLOW_SEALING = getattr(os, 'MFD_ALLOW_SEALING', 0x0002)
MFD_NOEXEC_SEAL = 0x0008  # linux/memfd.h, kernel >= 6.3; not in python's os module
F_ADD_SEALS = getattr(fcntl, 'F_ADD_SEALS', 1033)
F_GET_SEALS = getattr(fcntl, 'F_GET_SEALS', 1034)
F_SEAL_SEAL = getattr(fcntl, 'F_SEAL_SEAL', 0x0001)
F_SEAL_SHRINK = getattr(fcntl, 'F_SEAL_SHRINK', 0x0002)
F_SEAL_GROW = getattr(fcntl, 'F_SEAL_GROW', 0x0004)
F_SEAL_WRITE = getattr(fcntl, 'F_SEAL_WRITE', 0x0008)
JOURNALD_SEALS = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL

target, how, entry_file = sys.argv[1:4]
with open(entry_file, 'rb') as f:
    entry = f.read()
if len(sys.argv) > 4:  # the file was read as root; everything from here on is done as <uid>
    uid = int(sys.argv[4])
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def memfd(flags, seals):
    fd = os.memfd_create('journal-sender', flags)
    view = memoryview(entry)
    while view:
        view = view[os.write(fd, view):]
    if seals:
        fcntl.fcntl(fd, F_ADD_SEALS, seals)
    return fd


MEMFDS = {
    'sealed-memfd': (MFD_ALLOW_SEALING, JOURNALD_SEALS),
    'unsealed-memfd': (MFD_ALLOW_SEALING, 0),
    'noexec-memfd': (MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL, JOURNALD_SEALS),
}
if how != 'datagram' and how not in MEMFDS:
    sys.exit(f'unknown way to send: {how}')

sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
report = {'pid': os.getpid(), 'uid': os.getuid()}
try:
    fd = memfd(*MEMFDS[how]) if how in MEMFDS else None  # EINVAL: a kernel without the flag
    if fd is None:
        report['bytes'] = sock.sendto(entry, target)
    else:
        report['seals'] = fcntl.fcntl(fd, F_GET_SEALS)
        sock.sendmsg([b''], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack('i', fd))], 0, target)
        report['bytes'] = os.fstat(fd).st_size
        os.close(fd)  # journald holds its own reference from the moment sendmsg returns
except OSError as err:
    report['error'] = errno.errorcode.get(err.errno, str(err.errno))
emit(**report)
