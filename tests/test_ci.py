"""The CI workflow: three lanes a reader can follow, the replica-set lane really pointed at a
pinned MongoDB 8 replica set, and the README naming it."""

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


def test_the_replica_set_lane_runs_the_suite_against_a_pinned_mongodb_8_replica_set():
    workflow = _workflow()
    job = workflow["jobs"]["replica-set"]
    image = workflow["env"]["MONGO_IMAGE"]
    name, tag = image.split(":")
    assert name == "mongo" and tag.startswith("8.") and tag.count(".") == 2  # a patch release
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
