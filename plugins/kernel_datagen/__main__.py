"""``python -m kernel_datagen data.yaml --out DIR``: see :mod:`kernel_datagen.generate`."""

import sys

from kernel_datagen.generate import main

sys.exit(main())
