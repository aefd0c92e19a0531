"""Encrypted ÷ plain attachment throughput and CPU per GiB, in interleaved pairs.

The same gunicorn (one sync worker, `bench/bench_settings.py`) and client as
bench_attachments.py; each round runs, in an order that alternates between rounds:

- upload, raw body: the portal's page-script path (`sharing:attachment_upload` with the file as
  the body) ÷ the raw baseline (the body copied to a file a megabyte at a time);
- upload, multipart: the portal's form path (encrypting upload handler) ÷ Django's default
  handlers + FileSystemStorage (the baseline the earlier figures used);
- download: the portal's streamed, authenticated decryption ÷ FileResponse (sendfile).

For each transfer: MiB/s on the wall clock, and the worker's CPU seconds (user + system, from
/proc) per GiB. Ratios are per pair (encrypted ÷ plain of the same round); min / median / max
over the rounds, with the load average before and after. Run by hand:

    .venv/bin/python bench/bench_attachment_pairs.py [--size-mib 256] [--pairs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_attachments import CHUNK, download, ready, start, upload  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def raw_upload(port: int, path: str, size: int, block: bytes, auth: dict) -> tuple[float, dict]:
    return upload(port, path, size, block, auth, raw=True)


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument(
        "--broker",
        default="",
        help="a Redis URL whose queue takes the scans (nothing consumes them), as a worker would in "
        "production; without it the embedded default scans each upload in the request",
    )
    args = parser.parse_args()

    var_dir, auth, server, port = start({"CELERY_BROKER_URL": args.broker} if args.broker else {})
    size = args.size_mib * CHUNK
    gib = size / 1024**3
    attach = f"/documents/{auth['document']}/attachments/"
    media = var_dir / "media"
    try:
        pid = ready(server, port)
        block = os.urandom(CHUNK // 2).hex().encode()  # text, so the scan passes it as a .txt
        upload(port, "/bench/plain/", CHUNK, block, auth)  # warm the worker
        raw_upload(port, attach, CHUNK, block, auth)

        def timed(fn):
            before = cpu_seconds(pid)
            elapsed, reply = fn()
            return {"MiB/s": args.size_mib / elapsed, "cpu s/GiB": (cpu_seconds(pid) - before) / gib}, reply

        steps = {
            ("upload raw", "plain"): lambda: raw_upload(port, "/bench/plain-raw/", size, block, auth),
            ("upload raw", "encrypted"): lambda: raw_upload(port, attach, size, block, auth),
            ("upload multipart", "plain"): lambda: upload(port, "/bench/plain/", size, block, auth),
            ("upload multipart", "encrypted"): lambda: upload(port, attach, size, block, auth),
        }
        loads = [os.getloadavg()]
        rows: dict[tuple[str, str], list[dict]] = {}
        for round_ in range(args.pairs):
            order = ["plain", "encrypted"] if round_ % 2 == 0 else ["encrypted", "plain"]
            replies = {}
            for kind in ("upload raw", "upload multipart"):
                for mode in order:
                    result, reply = timed(steps[(kind, mode)])
                    rows.setdefault((kind, mode), []).append(result)
                    replies[(kind, mode)] = reply
            if args.broker:  # the verdict a worker would give: only clean files are served
                from sharing.models import Attachment

                code = replies[("upload raw", "encrypted")]["code"]
                Attachment.objects.filter(code=code).update(scan_status=Attachment.ScanStatus.CLEAN)
            downloads = {
                "plain": f"/bench/plain/{replies[('upload raw', 'plain')]['name']}",
                "encrypted": f"/documents/attachments/{replies[('upload raw', 'encrypted')]['code']}/download/",
            }
            for mode in order:
                result, _ = timed(lambda path=downloads[mode]: (download(port, path, size, auth), None))
                rows.setdefault(("download", mode), []).append(result)
            # Keep the disk from filling: the blobs are not read again.
            subprocess.run(["find", str(media), "-type", "f", "-delete"], check=False)  # noqa: S603, S607
            line = {
                f"{kind} {mode}": {k: round(v, 2) for k, v in rows[(kind, mode)][-1].items()} for kind, mode in rows
            }
            print(f"round {round_ + 1}: {json.dumps(line)}", flush=True)
        loads.append(os.getloadavg())

        print(
            f"\n{args.pairs} interleaved pairs of {args.size_mib} MiB; load average before {loads[0]}, after {loads[1]}"
        )
        print(
            "| transfer | plain MiB/s | encrypted MiB/s | ratio min / median / max | plain CPU s/GiB | encrypted CPU s/GiB |"
        )
        print("|---|---|---|---|---|---|")
        for kind in ("upload raw", "upload multipart", "download"):
            plain, enc = rows[(kind, "plain")], rows[(kind, "encrypted")]
            ratios = [e["MiB/s"] / p["MiB/s"] for p, e in zip(plain, enc, strict=True)]
            print(
                f"| {kind} | {statistics.median(r['MiB/s'] for r in plain):.0f} "
                f"| {statistics.median(r['MiB/s'] for r in enc):.0f} | {spread(ratios)} "
                f"| {statistics.median(r['cpu s/GiB'] for r in plain):.2f} "
                f"| {statistics.median(r['cpu s/GiB'] for r in enc):.2f} |"
            )
        raw_vs_multipart = [
            e["MiB/s"] / p["MiB/s"]
            for p, e in zip(rows[("upload multipart", "plain")], rows[("upload raw", "encrypted")], strict=True)
        ]
        print(f"encrypted raw upload ÷ plain multipart (the earlier baseline): {spread(raw_vs_multipart)}")
    finally:
        server.terminate()
        server.wait(30)
        subprocess.run(["rm", "-rf", str(var_dir)], check=False)  # noqa: S603, S607


if __name__ == "__main__":
    main()
