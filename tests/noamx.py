"""Run a command as if the CPU had no AMX: `python tests/noamx.py COMMAND [ARGS...]`.

Linux hands out AMX only to a process that asks for it (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`),
and both llama.cpp (`ggml_amx_init`) and ONNX Runtime's MLAS (`MlasInitAMX`) fall back to their AVX kernels when
the request fails. A seccomp filter makes that one request fail with EPERM in this process and its children, then
execs the command: the non-AMX code paths of both libraries run on an AMX machine, as on an AMD EPYC or an older
Xeon. (The AVX-512 kernels still run where the CPU has them; llama.cpp's native build cannot turn those off at
run time.)
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
AUDIT_ARCH_X86_64 = 0xC000003E
NR_ARCH_PRCTL = 158
ARCH_REQ_XCOMP_PERM = 0x1023
RET_ALLOW = 0x7FFF0000
RET_EPERM = 0x00050000 | 1  # SECCOMP_RET_ERRNO | EPERM
LD_W_ABS, JEQ_K, RET_K = 0x20, 0x15, 0x06


def _program() -> bytes:
    """BPF: on x86-64, arch_prctl(ARCH_REQ_XCOMP_PERM, ...) returns EPERM; everything else is allowed."""
    code = [
        (LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (JEQ_K, 0, 5, AUDIT_ARCH_X86_64),
        (LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        (JEQ_K, 0, 3, NR_ARCH_PRCTL),
        (LD_W_ABS, 0, 0, 16),  # low half of args[0]
        (JEQ_K, 0, 1, ARCH_REQ_XCOMP_PERM),
        (RET_K, 0, 0, RET_EPERM),
        (RET_K, 0, 0, RET_ALLOW),
    ]
    return b"".join(struct.pack("HBBI", *instruction) for instruction in code)


def deny_amx() -> None:
    """Install the filter in this process (inherited by every child and kept across exec)."""
    libc = ctypes.CDLL(None, use_errno=True)
    program = _program()
    buffer = ctypes.create_string_buffer(program)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


def amx_permitted() -> bool:
    """Whether this process may use AMX (asks the kernel; True only on an AMX CPU without the filter)."""
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(NR_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM, 18) == 0


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    deny_amx()
    os.environ["DESKPILOT_TEST_NO_AMX"] = "1"
    os.execvp(argv[0], argv)
    return 127  # not reached


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
