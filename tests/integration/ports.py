"""Loopback ports for the servers the tests start, without races between
test processes running at once.

Picking port 0 and closing the socket leaves a window before the server
binds the port, in which another test process can be handed the same
port by the kernel (a clean CI run lost a test that way with three
modules at once).  So ports are not taken from the kernel's ephemeral
range (which client sockets also use) but from a block of our own below
it: the runner gives each of its concurrent workers a different slot
($POSTROOM_TEST_PORT_SLOT), each slot owns a block of ports no other slot
uses, and within a process a cursor walks its block so two picks never
return the same port until the block wraps.  A port is handed out only if
it can be bound right now (something else on the machine may hold it).
"""
import os
import socket

FIRST, LAST = 10000, 32000       # below the ephemeral range (32768-60999 on Linux)
BLOCK = 500
_BLOCKS = (LAST - FIRST) // BLOCK


def _block_start():
    slot = int(os.environ.get("POSTROOM_TEST_PORT_SLOT", "0"))
    # A second run on the same machine (another clone's tests) most likely
    # lands on other blocks: the run's id shifts every slot.
    run = int(os.environ.get("POSTROOM_TEST_RUN_ID", str(os.getpid())))
    return FIRST + ((run * 7 + slot) % _BLOCKS) * BLOCK


_start = _block_start()
_next = 0


def _bindable(port, kinds):
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def pick(kinds=(socket.SOCK_STREAM,)):
    """A port of this process's block that can be bound for every kind now."""
    global _next
    for _ in range(BLOCK):
        port = _start + _next
        _next = (_next + 1) % BLOCK
        if _bindable(port, kinds):
            return port
    raise RuntimeError(f"no free port in 127.0.0.1:{_start}-{_start + BLOCK - 1}")
