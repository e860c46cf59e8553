"""The rehearsal's image: a bare Debian 12 root file system made with debootstrap (cached as a
tarball), unpacked afresh into a chroot with proc, sys and dev mounted, this machine's pip settings
and CA bundle copied in under names of their own, the autograder zip in /autograder/source and
setup.sh run there as root. Used by rehearse_gradescope.py; mounts belong to its private mount
namespace.
"""
from __future__ import annotations

import configparser
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

SUITE = "bookworm"
CHROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HOST_DIR = "/etc/hw5-host"  # in the chroot: this machine's pip settings and CA bundle
PASS_ENV = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def log(msg: str) -> None:
    print(f"[rehearse] {msg}", flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


# ---------------------------------------------------------------------------------------------
# The bare root file system
# ---------------------------------------------------------------------------------------------
def apt_mirror() -> str:
    """The first Debian archive URI of this machine's apt sources (one-line and deb822)."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in Path(path).read_text().split("\n\n"):
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M))
            suites = fields.get("Suites", "").split()
            if "deb" in fields.get("Types", "").split() and SUITE in suites:
                return fields["URIs"].split()[0]
    for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
        if os.path.exists(path):
            for line in Path(path).read_text().splitlines():
                m = re.match(r"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line)
                if m and m.group(2) == SUITE:
                    return m.group(1)
    sys.exit(f"no apt source for Debian {SUITE} on this machine: pass --mirror")


def ensure_debootstrap() -> None:
    if shutil.which("debootstrap"):
        return
    log("installing debootstrap with apt-get")
    run(["apt-get", "update", "-qq"])
    run(["apt-get", "install", "-y", "-qq", "debootstrap"], stdout=subprocess.DEVNULL,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def base_tarball(cache: Path, mirror: str) -> Path:
    tarball = cache / f"{SUITE}-minbase.tar"
    if tarball.exists():
        return tarball
    ensure_debootstrap()
    work = Path(tempfile.mkdtemp(prefix="debootstrap-", dir=cache))
    t0 = time.monotonic()
    log(f"debootstrap --variant=minbase {SUITE} (mirror from the apt sources)")
    try:
        run(["debootstrap", "--variant=minbase", SUITE, str(work), mirror],
            stdout=subprocess.DEVNULL)
        run(["tar", "-C", str(work), "--numeric-owner", "-cf", str(tarball) + ".part", "."])
        os.replace(str(tarball) + ".part", tarball)
    finally:
        remove_tree(work)
    log(f"base image cached ({time.monotonic() - t0:.0f} s, "
        f"{tarball.stat().st_size / 2**20:.0f} MB tarball)")
    return tarball


def mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve()) + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    return sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True)


def remove_tree(root: Path) -> None:
    """rm -rf that never crosses into a mount (a bind-mounted /dev must survive a failed run)."""
    for point in mounts_under(root):
        subprocess.run(["umount", "-l", point], capture_output=True)
    if mounts_under(root):
        sys.exit(f"refusing to delete {root}: still mounted: {mounts_under(root)}")
    subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=False)


# ---------------------------------------------------------------------------------------------
# The chroot: mounts, this machine's pip settings, the zip, setup.sh
# ---------------------------------------------------------------------------------------------
def host_pip_config(chroot: Path) -> dict[str, str]:
    """This machine's pip settings (files and PIP_* variables, as pip itself reports them),
    rewritten for the chroot: the files they name are copied into HOST_DIR; settings naming local
    directories or file:// indexes of this machine are dropped. Returns the chroot's env."""
    proc = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True,
                          text=True)
    settings: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"^[^.]*\.([a-z-]+)='(.*)'$", line)
        if m:
            settings[m.group(1)] = m.group(2)
    host = chroot / HOST_DIR.lstrip("/")
    host.mkdir(parents=True, exist_ok=True)
    config = configparser.ConfigParser()
    config["global"] = {}
    for key, value in sorted(settings.items()):
        if key in ("cert", "client-cert", "constraint"):
            if os.path.isfile(value):
                target = f"{HOST_DIR}/{key}-{Path(value).name}"
                shutil.copyfile(value, chroot / target.lstrip("/"))
                config["global"][key] = target
        elif key in ("find-links", "extra-index-url", "index-url"):
            kept = [v for v in value.split() if v.startswith(("http://", "https://"))]
            if kept:
                config["global"][key] = " ".join(kept)
        elif key not in ("disable-pip-version-check",):
            config["global"][key] = value
    with open(host / "pip.conf", "w") as f:
        config.write(f)
    env = {"PATH": CHROOT_PATH, "HOME": "/root", "LANG": "C.UTF-8",
           "PIP_CONFIG_FILE": f"{HOST_DIR}/pip.conf", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.update({k: os.environ[k] for k in PASS_ENV if k in os.environ})
    return env


class Chroot:
    def __init__(self, cache: Path, tarball: Path):
        self.cache = cache
        self.root = Path(tempfile.mkdtemp(prefix="root-", dir=cache))
        run(["tar", "-C", str(self.root), "--numeric-owner", "-xpf", str(tarball)])
        self.root.chmod(0o755)  # "/" as in any image (tar restores mkdtemp's 0700 on ".")
        for name, source in (("proc", None), ("sys", "/sys"), ("dev", "/dev")):
            target = self.root / name
            if source is None:
                run(["mount", "-t", "proc", "proc", str(target)])
            else:
                run(["mount", "--rbind", source, str(target)])
                run(["mount", "--make-rslave", str(target)])
        # Downloads kept between rehearsals (pip wheels, apt packages): only speed.
        for rel in ("root/.cache/pip", "var/cache/apt/archives"):
            (cache / "downloads" / rel).mkdir(parents=True, exist_ok=True)
            (self.root / rel).mkdir(parents=True, exist_ok=True)
            run(["mount", "--bind", str(cache / "downloads" / rel), str(self.root / rel)])
        shutil.copyfile("/etc/resolv.conf", self.root / "etc" / "resolv.conf")
        self.env = host_pip_config(self.root)

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")

    def close(self) -> None:
        remove_tree(self.root)


def unpack_zip(chroot: Chroot, zip_path: Path) -> None:
    """As Gradescope does: the zip's files in /autograder/source, with their Unix modes."""
    source = chroot.path("/autograder/source")
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = source / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            os.chmod(target, (info.external_attr >> 16) & 0o777 or 0o644)
    for sub in ("submission", "results"):
        chroot.path(f"/autograder/{sub}").mkdir(parents=True, exist_ok=True)


def run_setup(chroot: Chroot) -> float:
    t0 = time.monotonic()
    proc = subprocess.run(["chroot", str(chroot.root), "/bin/bash", "-c",
                           "cd /autograder/source && bash ./setup.sh"],
                          env=chroot.env, capture_output=True, text=True)
    took = time.monotonic() - t0
    if proc.returncode != 0:
        sys.exit(f"setup.sh failed ({proc.returncode}) after {took:.0f} s:\n"
                 f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    # Gradescope runs the copy at /autograder/run_autograder.
    shutil.copy2(chroot.path("/autograder/source/run_autograder"),
                 chroot.path("/autograder/run_autograder"))
    return took
