"""What the tests share beside fixtures: settings and keys, ports, and the checks run after a
scenario. conftest.py files hold fixtures only and import from here."""
