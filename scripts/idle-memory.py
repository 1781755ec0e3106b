#!/usr/bin/env python3
"""The desktop app's memory at rest, as the README reports it.

    scripts/idle-memory.py [APP]        # default: the installed /usr/bin/dramatis-app

Starts the app with an empty, temporary DRAMATIS_DATA_DIR (under Xvfb when
there is no display), lets it settle, then sums the memory of the app and
of every process it started (WebKit's web and network processes). PSS counts
a shared page once (split between the processes that share it); RSS counts it
in each. The last line printed is the figure: "idle memory: N MiB (PSS) ...".
"""
import os
import subprocess
import sys
import tempfile
import time

SETTLE_S = 20


def children(pid):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command may hold spaces and parentheses: the ppid follows the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(p))
    return out


def tree(pid):
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(children(p))
    return seen


def memory_kib(pid):
    """(PSS, RSS) in KiB, from smaps_rollup."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def name(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def window_painted(display):
    """Colours on the screen (xwd + netpbm's xwdtopnm), or None without them."""
    try:
        xwd = subprocess.run(["xwd", "-root", "-silent", "-display", display], capture_output=True, check=True).stdout
        ppm = subprocess.run(["xwdtopnm"], input=xwd, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    # P6 header: magic, width, height, maxval, then RGB bytes.
    parts = ppm.split(maxsplit=4)
    if len(parts) < 5 or parts[0] != b"P6":
        return None
    pixels = parts[4]
    return len({pixels[i : i + 3] for i in range(0, len(pixels) - 2, 3 * 97)})


def main():
    app = sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/dramatis-app"
    if not os.access(app, os.X_OK):
        sys.exit(f"{app} is not an executable: install the .deb (scripts/check-deb.sh) or pass the app's path")
    data = tempfile.mkdtemp(prefix="dramatis-idle-")
    env = dict(os.environ, DRAMATIS_DATA_DIR=os.path.join(data, "data"))
    xvfb = None
    if not env.get("DISPLAY"):
        xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", "1", "-screen", "0", "1280x860x24", "-nolisten", "tcp"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        number = xvfb.stdout.readline().decode().strip()
        if not number:
            sys.exit("Xvfb did not start (is the xvfb package installed?)")
        env["DISPLAY"] = ":" + number
    proc = subprocess.Popen([app], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(SETTLE_S)
        if proc.poll() is not None:
            sys.exit(f"the app exited at start (status {proc.returncode})")
        rows = [(p, name(p), *memory_kib(p)) for p in tree(proc.pid)]
        painted = window_painted(env["DISPLAY"])
        if painted is not None:
            print(f"  the window painted: {'yes' if painted >= 16 else 'NO'} ({painted} colours on the screen)")
            if painted < 16:
                sys.exit("the window stayed blank: the figure would mean nothing")
        for p, n, pss, rss in rows:
            print(f"  {n:<24} pid {p:<7} PSS {pss / 1024:7.1f} MiB   RSS {rss / 1024:7.1f} MiB")
        pss = sum(r[2] for r in rows) / 1024
        rss = sum(r[3] for r in rows) / 1024
        print(f"idle memory: {pss:.0f} MiB (PSS, {len(rows)} processes, {SETTLE_S} s after start; RSS sum {rss:.0f} MiB)")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if xvfb:
            xvfb.terminate()
        subprocess.run(["rm", "-rf", data])


if __name__ == "__main__":
    main()
