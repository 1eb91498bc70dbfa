"""The multi-part AOF directory of Redis 7.0: ``<dir>/<appenddirname>/``.

Layout (``appendfilename`` is the prefix of every name)::

    appendonlydir/
        appendonly.aof.manifest          which files make the dataset (zyst.persistence.manifest)
        appendonly.aof.3.base.rdb        the last rewrite's dataset (.base.aof without preamble)
        appendonly.aof.5.incr.aof        commands appended since, one file per rewrite started
        appendonly.aof.6.incr.aof

Invariants (each step below keeps them, so a crash at any moment leaves a loadable directory):

* the manifest names only files that exist and are complete; it is replaced atomically
  (written to ``temp-<appendfilename>.manifest``, fsynced, renamed, the directory fsynced);
* a file is created and made durable *before* a manifest naming it is written; a file is
  deleted only *after* a manifest no longer naming it (or naming it as history) is durable;
* the base and the incremental files are loaded in manifest order; only the last file may end
  with a cut-off command (a crash while appending).

A legacy single file ``<dir>/<appendfilename>`` (Redis <= 6, Zyst before this layout) is moved
into the directory as its base, the manifest written first, as Redis 7.0's ``aofUpgradePrepare``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from zyst.persistence import manifest
from zyst.persistence.aof import AofCorruptError, AofLoadResult
from zyst.persistence.durable import fsync_dir
from zyst.persistence.manifest import Manifest

log = logging.getLogger("zyst")


class AofLoadError(Exception):
    """The directory cannot be loaded (a missing file, a cut-off file that is not the last)."""


@dataclass(frozen=True, slots=True)
class DirLoadResult:
    """What :meth:`AofDir.load` did: the files' total and base sizes (INFO's
    ``aof_current_size`` and ``aof_base_size`` start from them), commands replayed, and the
    last file's cut-off tail (its path and the size to cut it back to) if it had one."""

    total_size: int
    base_size: int
    commands: int
    truncated_path: str | None
    truncated_to: int


class AofDir:
    """The directory's paths and the operations that keep its invariants."""

    def __init__(self, data_dir: str, dirname: str, filename: str) -> None:
        self.data_dir = data_dir
        self.path = os.path.join(data_dir, dirname)
        self.filename = filename
        self.manifest_path = os.path.join(self.path, f"{filename}.manifest")
        self.temp_manifest_path = os.path.join(self.path, f"temp-{filename}.manifest")
        self.legacy_path = os.path.join(data_dir, filename)

    def file_path(self, name: str) -> str:
        return os.path.join(self.path, name)

    def rewrite_temp_path(self, pid: int) -> str:
        """Where the rewrite child ``pid`` writes the new base (beside the directory, as
        Redis's ``temp-rewriteaof-bg-<pid>.aof``)."""
        return os.path.join(self.data_dir, f"temp-rewriteaof-bg-{pid}.aof")

    # -- the manifest ------------------------------------------------------------------------
    def read_manifest(self) -> Manifest:
        """The manifest on disk; an empty one when the directory or the manifest is missing.
        :class:`manifest.ManifestError` if it cannot be parsed, OSError if it cannot be read."""
        try:
            with open(self.manifest_path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            return Manifest()
        return manifest.parse(data)

    def persist(self, current: Manifest) -> None:
        """Replace the manifest by ``current``, atomically and durably. OSError, the old
        manifest in place, if a step fails; :class:`ManifestUncertain` if only the last one
        (the directory's fsync) failed."""
        data = current.format()
        fd = os.open(self.temp_manifest_path, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(self.temp_manifest_path, self.manifest_path)
        try:
            fsync_dir(self.path)
        except OSError as exc:
            raise ManifestUncertain(exc.errno, exc.strerror) from exc

    def make_dir(self) -> None:
        os.makedirs(self.path, exist_ok=True)

    # -- the legacy single file ------------------------------------------------------------
    def needs_upgrade(self, current: Manifest) -> bool:
        """Redis 7.0's three cases for moving ``<dir>/<appendfilename>`` in: the legacy file
        exists and the directory does not, or its manifest is empty, or the manifest names
        only that file as base and the move itself was cut short."""
        if not os.path.isfile(self.legacy_path):
            return False
        if not os.path.isdir(self.path) or current.is_empty():
            return True
        base = current.base
        return (
            base is not None
            and not current.incrs
            and base.name == self.filename
            and not os.path.exists(self.file_path(self.filename))
        )

    def upgrade(self, current: Manifest) -> Manifest:
        """Move the legacy file in as the base (``seq 1``): the manifest first, then the
        rename, so that a crash between them is the third case of :meth:`needs_upgrade`."""
        self.make_dir()
        upgraded = current.copy()
        upgraded.base = manifest.AofFile(self.filename, 1, manifest.BASE)
        upgraded.base_seq = 1
        self.persist(upgraded)
        os.rename(self.legacy_path, self.file_path(self.filename))
        fsync_dir(self.path)
        fsync_dir(self.data_dir)
        log.info(
            "Successfully migrated an old-style AOF file (%s) into the AOF directory (%s).",
            self.filename,
            os.path.basename(self.path),
        )
        return upgraded

    # -- loading ------------------------------------------------------------------------------
    def sizes(self, current: Manifest) -> tuple[int, int]:
        """(total size of the base and incremental files, size of the base); AofLoadError
        naming a file the manifest lists that is not there."""
        total = base = 0
        for info in current.live_files():
            try:
                size = os.stat(self.file_path(info.name)).st_size
            except OSError as exc:
                raise AofLoadError(
                    f"Unable to obtain the AOF file {info.name} length. stat: {exc.strerror}"
                ) from None
            total += size
            if info.type == manifest.BASE:
                base = size
        return total, base

    def load(self, current: Manifest, load_file: Callable[[str], AofLoadResult]) -> DirLoadResult:
        """Load the base, then each incremental file, with ``load_file(path)``. A cut-off
        command is accepted only at the end of the last file (AofLoadError otherwise); an
        AofCorruptError from a file is logged naming that file, and raised."""
        total, base_size = self.sizes(current)
        files = current.live_files()
        commands = 0
        truncated_path: str | None = None
        truncated_to = 0
        for number, info in enumerate(files, 1):
            path = self.file_path(info.name)
            kind = "base" if info.type == manifest.BASE else "incr"
            try:
                result = load_file(path)
            except AofCorruptError as exc:
                exc.path = path
                raise
            commands += result.commands
            if result.truncated:
                if number != len(files):
                    raise AofLoadError(
                        f"Fatal error: the truncated file {info.name} is not the last file"
                    )
                truncated_path, truncated_to = path, result.bytes_loaded
            log.info("DB loaded from %s file %s: %.3f seconds", kind, info.name, result.seconds)
        return DirLoadResult(total, base_size, commands, truncated_path, truncated_to)

    # -- history ------------------------------------------------------------------------------
    def delete_history(self, current: Manifest) -> Manifest:
        """Delete the history files (a manifest that lists them as history is durable), then
        write a manifest without them. A failure is logged and harmless: a history file is
        never loaded, and the next rewrite deletes it."""
        if not current.history:
            return current
        for info in current.history:
            log.info("Removing the history file %s in the background", info.name)
            try:
                os.unlink(self.file_path(info.name))
            except FileNotFoundError:
                pass  # gone already (a crash after the unlink, before the manifest)
            except OSError as exc:
                log.warning("Can't remove the history file %s: %s", info.name, exc)
        cleaned = current.copy()
        cleaned.history = []
        try:
            self.persist(cleaned)
        except OSError as exc:
            log.warning("Can't write the AOF manifest without its history files: %s", exc)
            return current
        return cleaned


class ManifestUncertain(OSError):
    """The new manifest is in place but its directory entry may not be durable: a crash may
    leave either manifest, so the files each of them names must all stay."""
