"""The CI workflow: three lanes a reader can follow, the embedded lane on every supported
Python, the replica-set lane really pointed at a replica set of every supported MongoDB (the
compose file's among them), and the README naming it."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_the_workflow_is_valid_yaml_with_three_lanes():
    workflow = _workflow()
    assert set(workflow["jobs"]) == {"embedded", "replica-set", "docker"}
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert {"push", "pull_request"} <= set(triggers)
    for job in workflow["jobs"].values():
        assert job["runs-on"].startswith("ubuntu-") and job["timeout-minutes"] <= 30


def test_the_embedded_lane_runs_on_every_supported_python():
    job = _workflow()["jobs"]["embedded"]
    assert job["strategy"]["matrix"]["python"] == ["3.11", "3.12", "3.13"]
    setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "${{ matrix.python }}"


def test_the_replica_set_lane_runs_the_suite_against_each_supported_mongodb_replica_set():
    workflow = _workflow()
    job = workflow["jobs"]["replica-set"]
    images = job["strategy"]["matrix"]["mongo"]
    assert [image.split(":")[1].split(".")[0] for image in images] == ["7", "8"]
    assert all(re.fullmatch(r"mongo:\d+\.\d+\.\d+", image) for image in images)  # patch
    assert job["env"]["MONGO_IMAGE"] == "${{ matrix.mongo }}"
    # Compose runs one of the versions CI tests.
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["mongo"]["image"] in images
    assert "replicaSet=rs0" in job["env"]["MONGODB_TEST_URI"]
    script = _runs(job)
    assert "--replSet rs0" in script and "rs.initiate" in script and "isWritablePrimary" in script
    assert script.index("rs.initiate") < script.index("make test")
    assert "make test" in _runs(workflow["jobs"]["embedded"])
    for lane in ("embedded", "replica-set"):  # the console's browser tests need one
        assert "/usr/bin/chromium" in _runs(workflow["jobs"][lane])


def test_the_docker_lane_builds_and_waits_for_the_health_checks():
    script = _runs(_workflow()["jobs"]["docker"])
    assert "docker build" in script
    assert "docker compose up" in script and "--wait" in script
    assert "/healthz" in script and "/readyz" in script


def test_the_readme_names_the_workflow_in_its_real_mongodb_section():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running against a real MongoDB", 1)[1].split("\n## ", 1)[0]
    assert ".github/workflows/ci.yml" in section
    assert "MONGODB_TEST_URI" in section
