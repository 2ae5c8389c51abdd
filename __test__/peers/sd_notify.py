"""sd_notify.py notify <state> [--pid self|parent|N] [--fd PATH]...
   sd_notify.py barrier [--pid self|parent|N] [--timeout SECONDS]

libsystemd's own sd_notify, called through ctypes (libsystemd.so.0, Debian's libsystemd0):
'notify' is sd_pid_notify_with_fds(pid, 0, state, fds, n) with the files opened read-only,
'barrier' sd_notify_barrier(0, timeout in usec; default 5 s), or sd_pid_notify_barrier(pid, …)
with --pid (libsystemd 254 and later). --pid: 'self' is 0
(libsystemd's "this process"), 'parent' os.getppid(). The reference that unixgram's notify()
is compared with. Prints {"pid", "ppid", "result"}: the return value (1 sent, 0
NOTIFY_SOCKET unset, < 0 a negative errno).
"""
import ctypes
import os
import sys

lib = ctypes.CDLL('libsystemd.so.0', use_errno=True)
command, args = sys.argv[1], sys.argv[2:]
state = args.pop(0).encode() if command == 'notify' else None
pid, files, timeout = 0, [], 5.0
while args:
    flag, value = args.pop(0), args.pop(0)
    if flag == '--pid':
        pid = {'self': 0, 'parent': os.getppid()}.get(value) if value in ('self', 'parent') else int(value)
    elif flag == '--fd':
        files.append(os.open(value, os.O_RDONLY | os.O_CLOEXEC))
    elif flag == '--timeout':
        timeout = float(value)
    else:
        sys.exit('unknown option ' + flag)

if command == 'notify':
    fds = (ctypes.c_int * max(1, len(files)))(*files)
    result = lib.sd_pid_notify_with_fds(pid, 0, ctypes.c_char_p(state), fds if files else None, len(files))
elif command == 'barrier':
    if pid == 0:
        lib.sd_notify_barrier.argtypes = [ctypes.c_int, ctypes.c_uint64]
        result = lib.sd_notify_barrier(0, int(timeout * 1e6))
    else:
        lib.sd_pid_notify_barrier.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_uint64]
        result = lib.sd_pid_notify_barrier(pid, 0, int(timeout * 1e6))
else:
    sys.exit('unknown command ' + command)
print('{"pid": %d, "ppid": %d, "result": %d}' % (os.getpid(), os.getppid(), result), flush=True)
