"""spawn_bound.py <path> <command> [args...]

Binds an AF_UNIX SOCK_DGRAM socket at <path> (as systemd or a supervisor would), runs
<command> with that socket as its fd 3 (stdout and stderr shared), closes its own copy, and
exits with the command's exit code.
"""
import os
import socket
import subprocess
import sys

sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
fd = sock.fileno()


def as_fd3():
    os.dup2(fd, 3)  # dup2 clears close-on-exec on the copy


child = subprocess.Popen(sys.argv[2:], pass_fds=(fd,), preexec_fn=as_fd3)
sock.close()
sys.exit(child.wait())
