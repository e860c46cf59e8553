"""The kernel's launcher: runs before ipykernel, as the grader's user (never imported).

The runner passes this file's text to ``python -c`` with argv[1] = JSON config, argv[2:] = the
kernel command. In order: set the rlimits; open the write end of the runner's export FIFO and
pass it on as an inherited descriptor, with the frames' signing key in a pipe; as root, in a private mount namespace (best effort: a
container may forbid it), hide the grader's package under an empty tmpfs and make the
interpreter reachable when one of its parent directories is private (e.g. /root is 0700: a
tmpfs over it holds bind mounts of just the needed entries); chown the connection file, drop
the supplementary groups, the gid and the uid; exec the kernel.

config: {"rlimits": {name: value}, "channel": path|None, "channel_env": name, "channel_key": hex,
         "hide": [dir], "expose": [[private_dir, [entry, ...]], ...], "staging": dir,
         "user": None | {"uid", "gid", "chown": [path]}}
"""
import json
import os
import resource
import sys

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_BIND, MS_REC, MS_PRIVATE = 0x1, 0x1000, 0x4000, 0x40000
MNT_DETACH = 0x2


def _mounts(config):
    import ctypes
    import tempfile

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
    if libc.unshare(CLONE_NEWNS) != 0:
        return "unshare"
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return "make-private"
    failed = None
    for directory, entries in config.get("expose", []):
        staging = tempfile.mkdtemp(prefix="hw5-expose-", dir=config["staging"])
        d = directory.encode()
        if libc.mount(d, staging.encode(), None, MS_BIND | MS_REC, None) != 0:
            failed = f"expose {directory}"
            continue
        if libc.mount(b"tmpfs", d, b"tmpfs", 0, b"size=64k,mode=0755") != 0:
            failed = f"expose {directory}"
            continue
        for entry in entries:
            target = os.path.join(directory, entry)
            source = os.path.join(staging, entry)
            if os.path.isdir(source):
                os.mkdir(target)
            else:
                open(target, "w").close()
            libc.mount(source.encode(), target.encode(), None, MS_BIND | MS_REC, None)
        libc.umount2(staging.encode(), MNT_DETACH)
        os.rmdir(staging)
    for directory in config.get("hide", []):
        if libc.mount(b"tmpfs", directory.encode(), b"tmpfs", MS_RDONLY,
                      b"size=4k,mode=000") != 0:
            failed = f"hide {directory}"
    return failed


def main(argv):
    config = json.loads(argv[1])
    for name, value in config["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    if config.get("channel"):
        fd = os.open(config["channel"], os.O_WRONLY | os.O_NONBLOCK)
        os.set_blocking(fd, True)
        os.set_inheritable(fd, True)
        os.environ[config["channel_env"]] = str(fd)
        key_read, key_write = os.pipe()
        os.write(key_write, bytes.fromhex(config["channel_key"]))
        os.close(key_write)
        os.set_inheritable(key_read, True)
        os.environ[config["channel_env"] + "_KEY"] = str(key_read)
    user = config.get("user")
    if user and (config.get("hide") or config.get("expose")):
        try:
            failed = _mounts(config)
        except OSError as exc:
            failed = repr(exc)
        if failed:
            print(f"hw5 sandbox: mount namespace step failed: {failed}", file=sys.stderr)
    if user:
        for path in user["chown"]:
            os.chown(path, user["uid"], user["gid"])
        os.setgroups([])
        os.setgid(user["gid"])
        os.setuid(user["uid"])
        if (os.getresuid() != (user["uid"],) * 3 or os.getresgid() != (user["gid"],) * 3
                or os.getgroups()):
            sys.exit("hw5 sandbox: could not drop privileges")
    os.execv(argv[2], argv[2:])


main(sys.argv)
