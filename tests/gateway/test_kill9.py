"""Nothing lost, nothing twice: a push of 1,000 small CT instances through `deid serve`
to Orthanc, with the gateway killed (kill -9) twice while storescu is sending. A sender
whose transfer failed sends that batch again (as a modality's queue does); every
instance ends in the destination or the quarantine, and none twice: de-identified UIDs
are keyed, so an instance forwarded before the kill and again after it is one instance.

1,000 instances, the issue's acceptance figure (header-only pipeline: ~20 s on a shared
2-core machine); DEID_KILL9_INSTANCES=N pushes another count.
"""

from __future__ import annotations

import os
import subprocess

from dicom_peers import (
    LOOPBACK,
    STORESCU,
    dcmtk_env,
    header_only_pipeline,
    make_study_files,
    needs_dcmtk,
    needs_orthanc,
    serve,
    start_orthanc,
    wait_for,
)

pytestmark = [needs_orthanc, needs_dcmtk]
N = int(os.environ.get("DEID_KILL9_INSTANCES", "1000"))
CHUNK = max(10, N // 10)
KILL_DURING = (2, 6)  # the chunks during which the gateway is killed


def test_kill9_twice_mid_stream_loses_nothing_and_duplicates_nothing(tmp_path):
    files = make_study_files(tmp_path / "in", N, patients=10)
    pipe = header_only_pipeline(tmp_path)  # the header path: this test is about moving instances
    o = start_orthanc(tmp_path / "orthanc", {"DEID": None})
    s = serve(tmp_path, "--forward", o.peer, "--pipeline", str(pipe))
    kills = 0
    try:
        for k in range(0, N, CHUNK):
            chunk = files[k : k + CHUNK]
            args = [STORESCU, "-aet", "MODALITY", "-aec", "DEID", "-to", "30", LOOPBACK, str(s.port), *map(str, chunk)]
            if k // CHUNK in KILL_DURING:
                sender = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dcmtk_env())
                floor = k + CHUNK // 10
                wait_for(
                    lambda: o.statistics()["CountInstances"] >= floor,  # noqa: B023
                    timeout=60,
                    step=0.25,
                    what="forwarding",
                )
                s.kill9()  # mid-stream: some acknowledged, some in flight, some in the spool
                kills += 1
                sender.wait(60)
                s = serve(
                    tmp_path, "--forward", o.peer, "--pipeline", str(pipe), port=s.port, name=f"after-kill-{kills}"
                )
            r = subprocess.run(args, capture_output=True, timeout=300, env=dcmtk_env())  # (again, after a kill)
            assert r.returncode == 0, r.stderr[-500:]
        wait_for(lambda: s.status()["spool_depth"] == 0, timeout=120, what="the spool to drain")
        assert s.stop() == 0, s.output()
        assert kills == 2
        quarantined = list((tmp_path / "spool" / "quarantine").glob("*.reason.json"))
        stats = o.statistics()
        assert stats["CountInstances"] + len(quarantined) == N  # every instance, once
        assert stats["CountInstances"] == N and not quarantined
        assert stats["CountPatients"] == 10
        assert "resume" in s.output()  # the restarted gateway took over the spool
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
        o.stop()
