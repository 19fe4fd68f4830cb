"""The start of the child scripts that subprocess tests run under RLIMIT_AS: imports and
``vm_bytes()`` (the child's address-space size, from /proc), shared so they measure alike."""

VM_PRELUDE = """
import resource
import numpy as np
import sow

def vm_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize")
"""
