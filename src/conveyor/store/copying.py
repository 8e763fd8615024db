"""Copying a file into the artifact store the cheapest way the file system offers, never through Python memory.

In order: a reflink (``FICLONE``: Btrfs, XFS, bcachefs, ZFS 2.2+, overlayfs on those; the copy shares the source's
blocks until either is written, so it costs metadata only), an ``O_DIRECT`` write of a large file on a local disk
(ext4: see ``DIRECT_FILE_SYSTEMS``), ``os.copy_file_range`` (the kernel copies, and NFS 4.2 and CIFS copy on the
server side), and last a plain read/write loop (other systems, or a kernel that refuses both,
e.g. across file systems on an old kernel).
"""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from collections.abc import Callable

FICLONE = 0x40049409
"""ioctl(dest, FICLONE, source) on Linux (the _IOW(0x94, 9, int) of linux/fs.h)."""

_FALLBACK_ERRORS = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ETXTBSY,
                    errno.EBADF, errno.ENOTTY, errno.EPERM}


DIRECT_MIN = 64 * 1024 * 1024
"""Files from this size are written with ``O_DIRECT`` on the local block file systems of ``DIRECT_FILE_SYSTEMS``."""

DIRECT_FILE_SYSTEMS = frozenset({"ext2", "ext3", "ext4", "xfs", "f2fs"})
"""Where an uncached write is the cheapest copy without a reflink: the bytes go from the source's page cache to the
disk, no page cache is filled for the copy (which on a virtual machine costs more CPU than the copy itself), and
the fsync after it has nothing left to write. Network file systems are not listed: ``copy_file_range`` lets NFS 4.2
and CIFS copy on the server."""


def copy_file(source: str | os.PathLike[str], dest: str | os.PathLike[str]) -> str:
    """Copy ``source`` to a new file ``dest``; return how: ``"reflink"``, ``"direct"`` (an ``O_DIRECT`` write of a
    large file on a local disk), ``"copy_file_range"`` or ``"read/write"``."""
    with open(source, "rb") as src, open(dest, "wb") as dst:
        if _reflink(src.fileno(), dst.fileno()):
            return "reflink"
        size = os.fstat(src.fileno()).st_size
        if size >= DIRECT_MIN and _direct_copy(src.fileno(), dst.fileno(), size):
            return "direct"
        if _copy_range(src.fileno(), dst.fileno(), size):
            return "copy_file_range"
        src.seek(0)
        dst.seek(0)
        dst.truncate()
        import shutil  # the last resort only

        shutil.copyfileobj(src, dst, 8 * 1024 * 1024)
        return "read/write"


def _reflink(src: int, dst: int) -> bool:
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        return False
    try:
        fcntl.ioctl(dst, FICLONE, src)
    except OSError as exc:
        if exc.errno in _FALLBACK_ERRORS:
            return False
        raise
    return True


def file_system(fd: int) -> str | None:
    """The type of the file system holding the open file ``fd`` (Linux: from /proc/self/mountinfo), else None."""
    dev = os.fstat(fd).st_dev
    wanted = f"{os.major(dev)}:{os.minor(dev)}"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) > 2 and fields[2] == wanted and " - " in line:
                    return line.split(" - ", 1)[1].split()[0]
    except OSError:
        return None
    return None


def _direct_copy(src: int, dst: int, size: int) -> bool:
    """Write ``size`` bytes of ``src`` to the empty ``dst`` with ``O_DIRECT`` from a read-only mapping of ``src``
    (whole blocks; the last partial block by a plain write); False, with ``dst`` left empty, where the file system
    is not one of DIRECT_FILE_SYSTEMS or refuses uncached writes."""
    direct = getattr(os, "O_DIRECT", 0)
    if not direct or size == 0 or file_system(dst) not in DIRECT_FILE_SYSTEMS:
        return False
    import fcntl
    import mmap

    flags = fcntl.fcntl(dst, fcntl.F_GETFL)
    aligned = size - size % 4096
    with mmap.mmap(src, size, prot=mmap.PROT_READ) as mapped, memoryview(mapped) as view:
        try:
            fcntl.fcntl(dst, fcntl.F_SETFL, flags | direct)
            done = 0
            while done < aligned:
                written = os.pwrite(dst, view[done:min(aligned, done + (64 << 20))], done)
                if written <= 0 or written % 4096:
                    raise OSError(errno.EIO, f"A direct write stopped at {done + written} of {size} bytes.")
                done += written
        except OSError as exc:
            fcntl.fcntl(dst, fcntl.F_SETFL, flags)
            if exc.errno in _FALLBACK_ERRORS:
                os.ftruncate(dst, 0)
                return False
            raise
        fcntl.fcntl(dst, fcntl.F_SETFL, flags)
        tail = bytes(view[aligned:])  # under one block: a copy, so no view outlives the mapping
    while tail:
        tail = tail[os.pwrite(dst, tail, size - len(tail)):]
    return True


def _copy_range(src: int, dst: int, size: int) -> bool:
    """Copy ``size`` bytes with copy_file_range; False (nothing to undo but the partial file) when unsupported."""
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is None:
        return False
    done = 0
    while done < size:
        try:
            n = copy_range(src, dst, min(size - done, 1 << 30), done, done)
        except OSError as exc:
            if exc.errno in _FALLBACK_ERRORS and done == 0:
                return False
            raise
        if n == 0:  # the source got shorter while copying: its bytes no longer match the digest taken
            raise OSError(errno.EIO, f"The file shrank from {size} to {done} bytes while it was being copied.")
        done += n
    return True


def publish_bytes(final: str, data: bytes) -> None:
    """Write ``data`` to the local path ``final`` atomically: a ``.tmp-*`` file beside it, fsynced, then renamed, so
    a crash leaves the whole file or nothing (a failed write leaves no temporary file behind)."""
    _publish(final, lambda tmp: _write_synced(tmp, data))


def publish_copy(final: str, source: str | os.PathLike[str]) -> None:
    """Copy the local file ``source`` to ``final`` atomically, as :func:`publish_bytes` does, by :func:`copy_file`
    (a reflink or the kernel's copy, never through Python memory)."""
    _publish(final, lambda tmp: _sync_copy(source, tmp))


def _write_synced(tmp: str, data: bytes) -> None:
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_copy(source: str | os.PathLike[str], tmp: str) -> None:
    copy_file(source, tmp)
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())


def _publish(final: str, fill: Callable[[str], None]) -> None:
    folder = os.path.dirname(final)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}")
    try:
        fill(tmp)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def copy_in_hashing(source: str | os.PathLike[str], folder: str, final: Callable[[str], str],
                    exists: Callable[[str], bool]) -> str:
    """Store a local file whose digest is not known yet into a local content-addressed folder in one go: copy it
    to a temporary name in ``folder`` (the kernel's copy, see :func:`copy_file`) while hashing it on the other cores,
    so the hash costs no time beside the copy; then fsync and rename it to ``final(digest)``, or drop the copy when
    ``exists(digest)`` (the bytes were stored already). Returns the digest."""
    from concurrent.futures import ThreadPoolExecutor

    from conveyor.store.hashing import digest_file

    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}")
    try:
        with ThreadPoolExecutor(1) as pool:  # both release the GIL: the copy in the kernel, BLAKE3 in its threads
            copied = pool.submit(copy_file, source, tmp)
            digest = digest_file(source)
            copied.result()
        if exists(digest):
            os.remove(tmp)
            return digest
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        target = final(digest)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    return digest


class StreamedBlob:
    """A blob streamed into a local content-addressed folder (the local :class:`~conveyor.store.artifacts.BlobWriter`):
    each ``write`` goes to a temporary file in ``folder`` at once and into the BLAKE3 hasher; ``commit`` fsyncs the
    file and renames it to ``final(digest)``, or drops it when ``exists(digest)``; ``abort`` (or a failed commit)
    removes it."""

    def __init__(self, folder: str, final: Callable[[str], str], exists: Callable[[str], bool]) -> None:
        import blake3

        self.final, self.exists = final, exists
        os.makedirs(folder, exist_ok=True)
        self.tmp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}")
        self.fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        self.hasher = blake3.blake3()

    def write(self, parts: list[bytes]) -> None:
        # one joined buffer: hashing and writing it release the GIL, where a call per small piece would take it
        # back each time from a thread that is reading files
        if not parts:
            return
        data = memoryview(parts[0] if len(parts) == 1 else b"".join(parts))
        self.hasher.update(data)
        while data:
            data = data[os.write(self.fd, data):]

    def commit(self) -> str:
        try:
            os.fsync(self.fd)
            os.close(self.fd)
            self.fd = -1
            digest = self.hasher.hexdigest()
            if self.exists(digest):
                os.remove(self.tmp)
                return digest
            target = self.final(digest)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(self.tmp, target)
            return digest
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1
        with contextlib.suppress(OSError):
            os.remove(self.tmp)

