"""take_pid.py <pid> [tries]

Makes a new process whose pid is <pid>, a number that belonged to a process that has
exited and been reaped: writes <pid> - 1 to /proc/sys/kernel/ns_last_pid (root, or
CAP_CHECKPOINT_RESTORE, in this pid namespace) so the next fork gets <pid>, and forks;
if another process took the number in between, it tries again (at most [tries] times,
default 50). The child names itself "ug-impostor" (/proc/<pid>/comm) and waits; it is
killed with this process (PR_SET_PDEATHSIG).

Prints {"ready": true, "pid": <pid>, "tries": n} with the child running, or
{"ready": true, "pid": null, "why": "..."} if it could not be done. Then waits until killed.
"""
import ctypes
import os
import signal
import sys

from _common import emit

PR_SET_PDEATHSIG = 1
target = int(sys.argv[1])
tries = int(sys.argv[2]) if len(sys.argv) > 2 else 50
libc = ctypes.CDLL(None, use_errno=True)


def child():
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(0)
    with open('/proc/self/comm', 'w') as comm:
        comm.write('ug-impostor')
    os.write(w, b'x')
    signal.pause()
    os._exit(0)


why = None
for attempt in range(1, tries + 1):
    r, w = os.pipe()
    try:
        with open('/proc/sys/kernel/ns_last_pid', 'w') as last:
            last.write(str(target - 1))
    except OSError as err:
        why = f'cannot write /proc/sys/kernel/ns_last_pid: {err.strerror}'
        break
    pid = os.fork()
    if pid == 0:
        child()
    os.close(w)
    if pid == target:
        os.read(r, 1)  # its comm is set
        os.close(r)
        emit(ready=True, pid=pid, tries=attempt)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        signal.pause()
        sys.exit(0)
    os.close(r)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    if os.path.exists(f'/proc/{target}'):
        why = f'pid {target} was taken by another process first'
        break
else:
    why = f'no fork got pid {target} in {tries} tries'
emit(ready=True, pid=None, why=why)
signal.pause()
