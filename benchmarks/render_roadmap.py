"""Render roadmap.xlsx through LibreOffice to PNG pages, to look at it as procurement will.

Run: python benchmarks/render_roadmap.py PLAN_DIR [OUT_DIR]
Converts PLAN_DIR/roadmap.xlsx to PDF with `libreoffice --headless`, then to PNG pages with
pdftoppm, and prints their paths. Exits 0 with a message, doing nothing, where LibreOffice
or pdftoppm is not installed (apt-get install libreoffice-calc poppler-utils).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan_dir", type=Path, help="a `planner plan` output directory holding roadmap.xlsx")
    parser.add_argument("out_dir", type=Path, nargs="?", help="where the pages go (default: PLAN_DIR/rendered)")
    args = parser.parse_args()
    plan_dir, out_dir = args.plan_dir, args.out_dir or args.plan_dir / "rendered"
    if not (plan_dir / "roadmap.xlsx").is_file():
        print(f"error: {plan_dir / 'roadmap.xlsx'} does not exist; give the directory `planner plan --out` wrote",
              file=sys.stderr)
        return 2
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if not office or not shutil.which("pdftoppm"):
        print("skipped: LibreOffice or pdftoppm is not installed")
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([office, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                            "--outdir", str(out_dir), str(plan_dir / "roadmap.xlsx")], check=True, capture_output=True,
                           timeout=300)
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(out_dir / "roadmap.pdf"), str(out_dir / "page")],
                       check=True, capture_output=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        detail = (getattr(error, "stderr", b"") or b"").decode(errors="replace").strip()
        print(f"error: {error}" + (f"\n{detail}" if detail else ""), file=sys.stderr)
        return 1
    pages = sorted(out_dir.glob("page*.png"))
    print(f"{len(pages)} pages:")
    for page in pages:
        print(f"  {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
