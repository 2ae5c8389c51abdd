"""sd_listen_fds.py <cases JSON>

libsystemd's own sd_listen_fds_with_names(unset, &names), called through ctypes
(libsystemd.so.0), once per case: the reference for unixgram's listenFds(). A case is
{"env": {NAME: value}, "unset": bool}; LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are set to
its env (unset when absent) first, with 'SELF' in a value replaced by this process's pid.
fds 3 and 4 are whatever the test passed (inheritable, as a manager passes them); a case's
FD_CLOEXEC stays for the next. Prints one line per case: {"result": n or an errno name ("EINVAL"), "names": [...],
"left": {NAME: value still in the environment, read with getenv(3), our pid as 'SELF'}, "cloexec": [fd 3, fd 4]}.
"""
import ctypes
import errno
import fcntl
import json
import os
import sys

lib = ctypes.CDLL('libsystemd.so.0')
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
VARIABLES = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES']

for case in json.loads(sys.argv[1]):
    for name in VARIABLES:
        os.unsetenv(name)
    for name, value in case['env'].items():
        os.putenv(name, value.replace('SELF', str(os.getpid())))
    names = ctypes.POINTER(ctypes.c_char_p)()
    r = lib.sd_listen_fds_with_names(1 if case['unset'] else 0, ctypes.byref(names))
    left = {}
    for name in VARIABLES:
        value = libc.getenv(name.encode())
        if value is not None:
            left[name] = value.decode().replace(str(os.getpid()), 'SELF')
    print(json.dumps({
        'result': r if r >= 0 else errno.errorcode[-r],
        'names': [names[i].decode() for i in range(r)] if r > 0 else [],
        'left': left,
        'cloexec': [bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC) for fd in (3, 4)],
    }), flush=True)
