from tests.conftest import auth
from tests.factories import assert_invariants, capture, debit, make_account, reserve


async def test_grant_debit_reserve_capture(client, db):
    await make_account(client, "user_1", 100)
    r = await debit(client, "user_1", 10)
    assert r.status_code == 201, r.text
    assert r.json()["account"]["balance"] == 90
    r = await reserve(client, "user_1", 50)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    r = await capture(client, rid, 30)
    assert r.status_code == 200, r.text
    r = await client.get("/v1/accounts/user_1", headers=auth())
    assert r.json()["balance"] == 60 and r.json()["available"] == 60
    await assert_invariants(db, "user_1")
