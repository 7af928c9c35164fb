"""Render roadmap.xlsx through LibreOffice to PNG pages, to look at it as procurement will.

Run: python benchmarks/render_roadmap.py PLAN_DIR [OUT_DIR]
Converts PLAN_DIR/roadmap.xlsx to PDF with `libreoffice --headless`, then to PNG pages with
pdftoppm, and prints their paths. Exits 0 with a message, doing nothing, where LibreOffice
or pdftoppm is not installed (apt-get install libreoffice-calc poppler-utils).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    plan_dir = Path(sys.argv[1])
    out_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else plan_dir / "rendered"
    office = shutil.which("libreoffice") or shutil.which("soffice")
    if not office or not shutil.which("pdftoppm"):
        print("skipped: LibreOffice or pdftoppm is not installed")
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([office, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                        "--outdir", str(out_dir), str(plan_dir / "roadmap.xlsx")], check=True, capture_output=True,
                       timeout=300)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(out_dir / "roadmap.pdf"), str(out_dir / "page")], check=True)
    pages = sorted(out_dir.glob("page*.png"))
    print(f"{len(pages)} pages:")
    for page in pages:
        print(f"  {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
