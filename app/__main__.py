"""`python -m app`: the operator commands of app.cli."""

from app.cli import main

raise SystemExit(main())
