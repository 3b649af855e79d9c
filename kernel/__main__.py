from __future__ import annotations

from kernel.entry import main

main()
