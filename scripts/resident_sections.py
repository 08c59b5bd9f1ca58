"""Resident bytes of each ELF section of a running binary (part of scripts/bench-memory).

`python3 resident_sections.py PID BINARY`: reads the binary's section table (readelf) and the
process's page table (/proc/PID/pagemap, present bit; needs the same user or root) and prints,
per section, its size and how much of it is resident. Shows whether the hot-code layout holds:
`.text.hot` resident, `.text` (cold) mostly not (docs/architecture.md, "Code layout").
"""
import os
import re
import struct
import subprocess
import sys

PAGE = 4096


def sections(binary):
    """(name, file offset, size) of every section that occupies the file."""
    listing = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True,
                             check=True).stdout
    row = re.compile(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)")
    found = []
    for line in listing.splitlines():
        match = row.match(line)
        if match and match.group(2) != "NOBITS" and int(match.group(4), 16):
            found.append((match.group(1), int(match.group(3), 16), int(match.group(4), 16)))
    return found


def resident_by_section(pid, binary):
    """Resident bytes per section name of `binary` mapped into process `pid`."""
    real = os.path.realpath(binary)
    by_section = {}
    table = sections(binary)
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in maps:
            fields = line.split()
            if len(fields) < 6 or os.path.realpath(fields[5]) != real:
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            offset = int(fields[2], 16)
            pagemap.seek(start // PAGE * 8)
            entries = pagemap.read((end - start) // PAGE * 8)
            for i in range((end - start) // PAGE):
                if struct.unpack_from("<Q", entries, i * 8)[0] >> 63:
                    file_offset = offset + i * PAGE
                    name = next((n for n, o, s in table if o <= file_offset < o + s), "(headers)")
                    by_section[name] = by_section.get(name, 0) + PAGE
    return by_section


def main():
    pid, binary = sys.argv[1], sys.argv[2]
    by_section = resident_by_section(pid, binary)
    for name, _, size in sections(binary):
        loaded = not name.startswith((".debug", ".symtab", ".strtab", ".comment"))
        if loaded and (size >= 16 * PAGE or by_section.get(name)):
            print(f"{name:20} {size / 1e6:6.2f} MB  resident {by_section.get(name, 0) / 1e6:6.2f} MB")
    print(f"{'binary':20} {'':9}  resident {sum(by_section.values()) / 1e6:6.2f} MB")


if __name__ == "__main__":
    main()
