"""``python -m cfusage.sample DIR``: write the sample files and a price book into ``DIR``."""

from ._generate import main

raise SystemExit(main())
