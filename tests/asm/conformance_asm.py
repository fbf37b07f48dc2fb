#!/usr/bin/env python3
"""For every tests/*.data of the conformance suite with an asm section, print
what ../shared/conformance/run.py assembles it to, for test_shared.c:

    FILE name
    BYTES hex...          (or: ERROR message)
    ASM n
    n lines of the asm section (as run.py reads it)
"""
import sys
from pathlib import Path

shared = Path(sys.argv[1])
sys.path.insert(0, str(shared / "conformance"))
import run  # noqa: E402

for path in sorted((shared / "conformance" / "tests").glob("*.data")):
    test = run.read_test(path)
    source = test.asm
    if not source:
        continue
    try:
        result = "BYTES " + run.assemble(source).hex()
    except run.AsmError as error:
        result = "ERROR " + str(error).replace("\n", " ")
    lines = source.splitlines()
    print(f"FILE {path.name}\n{result}\nASM {len(lines)}")
    for line in lines:
        print(line)
