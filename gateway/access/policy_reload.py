"""The policy in force, replaced while the gateway runs.

``PolicyHolder`` keeps the current ``Policy``. A new policy file is read and validated in
full before it replaces the old one, in one assignment: a request sees either the old
policy or the new one, never a mix. A file with any problem is rejected, every problem is
logged, and the policy already in force stays::

    holder = PolicyHolder.load("policy.yaml")
    async with holder.watching(interval=2.0):   # polls the file; SIGHUP reloads at once
        ...
        policy = holder.current                 # read once per request

A poll may read a file halfway through being written. So a poll reloads only a file that
has stayed the same since the previous poll (it has *settled*), refuses an empty file like
any invalid one, and never widens a grant already in force or the public scope (see
``policy_widening``): such a file is refused until an operator confirms it with SIGHUP
(``reload()``), or the gateway restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from gateway.access.policy import Policy
from gateway.access.policy_widening import widenings
from gateway.problems import ConfigError

log = logging.getLogger("gateway.policy")

# What identifies one version of the file: editors that save by renaming change the inode,
# in-place writes change the mtime or the size.
_FileStamp = tuple[int, int, int]

_WIDENING_REFUSED = (
    "policy not reloaded: it widens access in force, which an automatic reload never does "
    "(a file read while it is being written looks like this). When the file is complete, "
    "send SIGHUP (kill -HUP <pid>) or restart to apply it; the previous policy stays in force."
)


class PolicyHolder:
    """The current policy, and how to replace it from its file.

    ``current`` is always a fully validated policy. ``reload()`` re-reads the file now;
    ``check()`` re-reads it only when it changed since the last attempt.
    """

    def __init__(self, policy: Policy, path: str | Path | None = None) -> None:
        self._policy = policy
        self.path = Path(path) if path is not None else None
        self.generation = 0
        self.last_error: ConfigError | None = None
        self._stamp = self._read_stamp()
        self._settling: _FileStamp | None = None
        self._listeners: list[Callable[[Policy], None]] = []

    @classmethod
    def load(cls, path: str | Path) -> PolicyHolder:
        """Read the policy at ``path``; raises ``ConfigError`` when it is not valid."""
        return cls(Policy.load(path), path)

    @property
    def current(self) -> Policy:
        return self._policy

    def subscribe(self, listener: Callable[[Policy], None]) -> None:
        """Call ``listener(policy)`` after each successful replacement."""
        self._listeners.append(listener)

    def reload(self, *, allow_widening: bool = True) -> bool:
        """Read and validate the file now; swap it in if valid. True when it was swapped.

        With ``allow_widening=False`` (the poll), a file that widens a grant in force or
        the public scope is refused too; SIGHUP calls this with the default, ``True``: an
        operator's signal says the file is complete.
        """
        path = self._path()
        self._stamp = self._read_stamp()
        try:
            policy = Policy.load(path)
        except ConfigError as exc:
            return self._refuse(exc, "policy not reloaded; the previous policy stays in force.")
        widened = [] if allow_widening else widenings(self._policy.document, policy.document)
        if widened:
            return self._refuse(ConfigError(str(path), widened), _WIDENING_REFUSED)
        self._policy = policy
        self.last_error = None
        self.generation += 1
        log.info("policy reloaded from %s (generation %d)", path, self.generation)
        for listener in self._listeners:
            listener(policy)
        return True

    def _refuse(self, error: ConfigError, why: str) -> bool:
        self.last_error = error
        log.error("%s\n%s", why, error)
        return False

    def check(self) -> bool:
        """Reload if the file changed and has settled (the same on two polls in a row).

        True when a new policy is in force. A broken or widening file is tried once per
        change, not on every poll.
        """
        if self.path is None:
            return False
        stamp = self._read_stamp()
        if stamp == self._stamp:
            self._settling = None
            return False
        if stamp != self._settling:
            self._settling = stamp  # still being written, maybe: look again next poll
            return False
        self._settling = None
        return self.reload(allow_widening=False)

    async def watch(self, interval: float = 2.0) -> None:
        """Poll the file every ``interval`` seconds, forever (run it as a task)."""
        while True:
            await asyncio.sleep(interval)
            try:
                self.check()
            except Exception:  # a poll must never stop the watcher
                log.exception("checking the policy file failed")

    @contextlib.asynccontextmanager
    async def watching(self, *, interval: float = 2.0, sighup: bool = True) -> AsyncIterator[None]:
        """Poll the file and reload on SIGHUP while the block runs (e.g. the app's lifespan)."""
        if self.path is None:
            yield
            return
        loop = asyncio.get_running_loop()
        handles_sighup = sighup and _add_sighup_handler(loop, self.reload)
        task = asyncio.create_task(self.watch(interval), name="policy-watch")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if handles_sighup:
                loop.remove_signal_handler(signal.SIGHUP)

    def _path(self) -> Path:
        if self.path is None:
            raise ValueError("this policy was not loaded from a file; there is nothing to reload")
        return self.path

    def _read_stamp(self) -> _FileStamp | None:
        if self.path is None:
            return None
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _add_sighup_handler(loop: asyncio.AbstractEventLoop, reload: Callable[[], bool]) -> bool:
    sighup = getattr(signal, "SIGHUP", None)
    if sighup is None:  # Windows
        return False
    try:
        loop.add_signal_handler(sighup, reload)
    except (NotImplementedError, RuntimeError, ValueError):
        # Not the main thread, or a loop without signal support: polling still works.
        log.debug("SIGHUP cannot be handled here; the policy file is still polled")
        return False
    return True
