# Cronium's pre-started Python (the "zygote"), run by cronium-launch in a sandbox waiting for its job:
#   env -i PATH=... HOME=/work LANG=C.UTF-8 python3 -u /usr/local/lib/cronium/python/zygote.py 3<job pipe
# Python's own start-up and the SDK's imports (~35 ms + ~70 ms on a busy host) happen before the job arrives.
# When it does, fd 3 carries NUL-separated: argc, argv..., envc, K=V... (the exact environment of a cold
# start, written by the launcher, which only uses this process when nothing in that environment is read at
# interpreter start-up: see zygote.sh). The script then runs as `python3 -u /work/main.py` would run it:
# same sys.argv, sys.path[0], __main__ module, exit status and traceback; EOF without a job: exit 0.
import os
import sys

import cronium  # noqa: F401  (reads its environment at each call, never at import)


def _job():
    chunks = []
    while True:
        b = os.read(3, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(3)
    return b"".join(chunks)


def _add_pythonpath(argv):
    """PYTHONPATH (a dependency bundle, the one value zygote.sh lets through) where Python puts it at start-up,
    right after the script's directory. A module this process imported before the job (the SDK's, the standard
    library's) would not be shadowed by a same-named one on that path as it would in a fresh interpreter: then
    Python is started afresh, with the job's environment, as a cold start would."""
    entries = [p for p in os.environ.get("PYTHONPATH", "").split(":") if p]
    if not entries:
        return
    loaded = {m.partition(".")[0] for m in sys.modules}
    for entry in entries:
        try:
            names = os.listdir(entry)
        except OSError:
            continue
        for n in names:
            if n.partition(".")[0] in loaded:
                os.execve(sys.executable, argv, os.environ)
    sys.path[1:1] = entries


# SIGUSR1 (10 on Linux; the signal module is not imported only for this).
_SIGUSR1 = 10


def _main():
    # Loaded: tell the launcher (PID 1), which writes the ready mark if the server asked for one (cronium-launch).
    if os.getppid() == 1:
        os.kill(1, _SIGUSR1)
    raw = _job()
    if not raw:
        os._exit(0)
    fields = raw.split(b"\0")
    argc = int(fields[0])
    argv = [os.fsdecode(a) for a in fields[1 : 1 + argc]]
    envc = int(fields[1 + argc])
    env = fields[2 + argc : 2 + argc + envc]
    os.environ.clear()
    for kv in env:
        k, _, v = kv.partition(b"=")
        os.environb[k] = v
    path = argv[2]  # argv is python3 -u <script> [args...]
    _add_pythonpath(argv)
    sys.argv = argv[2:]
    sys.path[0] = os.path.dirname(os.path.realpath(path))
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec", dont_inherit=True)
    import builtins
    import importlib.machinery
    import types

    main = types.ModuleType("__main__")
    main.__dict__.update(
        __file__=path,
        __cached__=None,
        __spec__=None,
        __package__=None,
        __builtins__=builtins,
        __loader__=importlib.machinery.SourceFileLoader("__main__", path),
    )
    sys.modules["__main__"] = main
    return code, main.__dict__


_code, _globals = _main()
del _main, _job, _SIGUSR1
try:
    exec(_code, _globals)
except (SystemExit, KeyboardInterrupt):
    raise
except BaseException as e:  # noqa: BLE001  what Python prints for an uncaught exception, without this frame
    tb = e.__traceback__.tb_next if e.__traceback__ else None
    sys.excepthook(type(e), e.with_traceback(tb), tb)
    sys.exit(1)
