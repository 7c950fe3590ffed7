"""``python -m analysis`` is ``tn-mincut``."""

from .cli import main

raise SystemExit(main())
