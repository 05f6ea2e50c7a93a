#!/usr/bin/env python3
"""Print a root tree as one sorted line per entry: path, type, mode,
owner, and the content's sha256 or the link's target (no times), so
that two builders' images can be diffed.  Usage: tree-list.py DIR"""
import hashlib
import os
import stat
import sys

root = sys.argv[1]
out = []
for dirpath, dirnames, filenames in os.walk(root):
    for name in dirnames + filenames:
        p = os.path.join(dirpath, name)
        rel = os.path.relpath(p, root)
        st = os.lstat(p)
        m = st.st_mode
        if stat.S_ISLNK(m):
            what = "l " + os.readlink(p)
        elif stat.S_ISREG(m):
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 16), b""):
                    h.update(chunk)
            what = "f " + h.hexdigest()
        elif stat.S_ISDIR(m):
            what = "d"
        elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
            what = "%s %d,%d" % ("c" if stat.S_ISCHR(m) else "b", os.major(st.st_rdev), os.minor(st.st_rdev))
        else:
            what = "o"
        out.append("%s %s %o %d:%d" % (rel, what, stat.S_IMODE(m), st.st_uid, st.st_gid))
print("\n".join(sorted(out)))
