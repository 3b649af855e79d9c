from __future__ import annotations

from kernel.cli import main

main()
