"""Programs some tests need beside Python: Chromium for the browser tests, Node for the
TypeScript client's. Without one, its tests skip with a line saying how to enable them;
with REQUIRE_TEST_TOOLS=1 (as .ci/run sets) they fail instead."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

REQUIRE = "REQUIRE_TEST_TOOLS"


@dataclass(frozen=True)
class Tool:
    marker: str  # the pytest marker of the tests that need it
    what: str
    variable: str  # names the program's path when it is not on PATH
    names: tuple[str, ...]
    enable: str

    def find(self) -> str | None:
        if named := os.environ.get(self.variable):
            return named if Path(named).is_file() else None
        return next((found for name in self.names if (found := shutil.which(name))), None)

    def reason(self) -> str:
        return f"no {self.what} found: {self.enable} (or set {self.variable}=/path/to/it)"


CHROMIUM = Tool(
    "browser",
    "Chromium",
    "CHROMIUM",
    ("chromium", "chromium-browser", "google-chrome"),
    "install it (apt-get install chromium) to run the browser tests",
)
NODE = Tool(
    "node",
    "Node.js",
    "NODE",
    ("node",),
    "install Node.js 20+ (apt-get install nodejs) to run the TypeScript client's tests",
)
TYPESCRIPT_CLIENT = Path(__file__).resolve().parents[1] / "clients" / "typescript"
TSC = Tool(
    "node",
    "TypeScript compiler",
    "TSC",
    (str(TYPESCRIPT_CLIENT / "node_modules" / "typescript" / "bin" / "tsc"),),
    "run `npm ci` in clients/typescript (make install does when npm is found)",
)
TOOLS = (CHROMIUM, NODE, TSC)


def required() -> bool:
    return os.environ.get(REQUIRE) == "1"


def need(tool: Tool) -> str:
    """The program's path; otherwise the test skips (or fails, when tools are required)."""
    path = tool.find()
    if path is None:
        if required():
            pytest.fail(f"{tool.reason()}; {REQUIRE}=1 makes this a failure", pytrace=False)
        pytest.skip(tool.reason())
    return path


def skipped_lines(skipped_reports: list) -> list[str]:
    """One line per missing tool for the end of the run: how many tests it skipped, and how
    to enable them."""
    lines = []
    for tool in TOOLS:
        count = sum(1 for report in skipped_reports if tool.reason() in str(report.longrepr))
        if count:
            lines.append(f"skipped {count} {tool.marker} test(s): {tool.reason()}")
    return lines
