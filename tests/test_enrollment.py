"""Enrollment: an admin's one-time code makes a new terminal, whose token is then good only on requests its
own key signs. Used, expired and unknown codes are refused with a clear code and change nothing; guessing
is locked out. Last, the terminal's own client against the real central server over HTTPS with a CA made
here."""

from __future__ import annotations

import json
import ssl
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central.demo_data import FACILITY
from central.server_process import TlsFiles
from kiosk.central_client import CentralClient, CentralError
from kiosk.protocol import API_PREFIX, EnrollmentRequest, ErrorCode
from kiosk.request_proof import HEADER, WINDOW_S, new_private_key, proof, public_key_text
from tests.central_harness import TERMINAL, Central, assert_error, store_unchanged
from tests.conftest import staff_call
from tests.tls_authority import make_authority, server_certificate

ENROLL = f"{TERMINAL}/enroll"
IDLE = f"{TERMINAL}/idle"
CODES = f"{API_PREFIX}/staff/enrollment-codes"


def new_code(central: Central, minutes: int = 60, unit: str = "Unit B North") -> str:
    answer = central.client.post(
        CODES, json={"valid_minutes": minutes, "housing_unit": unit}, headers=central.headers(central.staff_token)
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["code"])


def enroll(central: Central, code: str, key: Ed25519PrivateKey, name: str = "B North terminal 7"):
    body = {"code": code, "name": name, "location": "Harbor County, Unit B North", "public_key": public_key_text(key)}
    return central.client.post(ENROLL, json=body)


def signed(
    central: Central,
    key: Ed25519PrivateKey,
    token: str,
    path: str,
    at: float | None = None,
    signed_path: str | None = None,
):
    """A GET with the token and a proof made by `key`, at time `at`, over `signed_path` if given."""
    header = proof(key, int(time.time() if at is None else at), "GET", signed_path or path, b"")
    return central.client.get(path, headers={"Authorization": f"Bearer {token}", HEADER: header})


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_a_code_enrolls_one_terminal_in_its_unit_and_both_steps_are_audited(central, key):
    code = new_code(central)
    assert len(code) == 14 and code[4] == code[9] == "-", "three groups of four, easy to read out"
    grant = enroll(central, code.lower().replace("-", " "), key)  # typed in lower case, with spaces
    assert grant.status_code == 200, grant.text
    terminal = central.store.terminal(grant.json()["terminal_id"])
    assert terminal is not None
    assert (terminal["name"], terminal["housing_unit"], terminal["public_key"]) == (
        "B North terminal 7",
        "Unit B North",
        public_key_text(key),
    )
    assert grant.json()["facility"] == FACILITY, "the name the kiosk's screens show"
    assert grant.json()["facility_ca_pem"] is None, "this central serves no TLS, so there is no CA to pin"
    kinds = [event["kind"] for event in central.store.audit_events()]
    assert "enrollment_code_created" in kinds and "terminal_enrolled" in kinds


def test_an_enrolled_terminal_is_served_only_on_requests_its_key_signed(central, key):
    token = enroll(central, new_code(central), key).json()["token"]
    assert signed(central, key, token, IDLE).status_code == 200

    alone = central.client.get(IDLE, headers={"Authorization": f"Bearer {token}"})
    assert_error(alone, 401, ErrorCode.TERMINAL_NOT_AUTHORISED)
    assert "signs every request" in alone.json()["message"]
    refusals = {
        "another key": signed(central, Ed25519PrivateKey.generate(), token, IDLE),
        "another path": signed(central, key, token, IDLE, signed_path=f"{TERMINAL}/visits"),
        "too old": signed(central, key, token, IDLE, at=time.time() - WINDOW_S - 5),
    }
    for why, answer in refusals.items():
        assert answer.status_code == 401, why
    assert "clock" in refusals["too old"].json()["message"], "a technician is told what to check"


def test_a_signed_body_cannot_be_changed_on_the_way(central, key):
    token = enroll(central, new_code(central), key).json()["token"]
    meant = json.dumps({"resident_id": "1001", "pin": "2468"}).encode()
    sent = json.dumps({"resident_id": "1002", "pin": "2468"}).encode()
    path = f"{TERMINAL}/identify"
    headers = {
        "Authorization": f"Bearer {token}",
        HEADER: proof(key, int(time.time()), "POST", path, meant),
        "Content-Type": "application/json",
    }
    assert_error(central.client.post(path, content=sent, headers=headers), 401, ErrorCode.TERMINAL_NOT_AUTHORISED)


def test_a_used_an_unknown_or_malformed_code_is_refused_with_a_clear_code_and_changes_nothing(central, key):
    used = new_code(central)
    assert enroll(central, used, key).status_code == 200
    with store_unchanged(central, but=("sign_in_failures",)):
        assert_error(enroll(central, used, key, name="Second"), 409, ErrorCode.ENROLLMENT_CODE_USED)
        assert_error(enroll(central, "ABCD-EFGH-JKMN", key), 404, ErrorCode.ENROLLMENT_CODE_UNKNOWN)
        assert_error(enroll(central, "not a code!", key), 400, ErrorCode.INVALID_REQUEST)
        bad_key = central.client.post(ENROLL, json={"code": used, "name": "X", "location": "Y", "public_key": "short"})
        assert_error(bad_key, 400, ErrorCode.INVALID_REQUEST)


def test_an_expired_code_is_refused_with_its_own_code(central, key):
    code, _ = central.store.add_enrollment_code("Unit B North", valid_s=-1.0, created_by="staff-token")
    with store_unchanged(central):
        assert_error(enroll(central, code, key), 410, ErrorCode.ENROLLMENT_CODE_EXPIRED)


def test_guessing_codes_is_locked_out_like_guessing_a_pin(central, key):
    good = new_code(central)
    answers = [enroll(central, f"GUES-SXXX-XX{n:02d}", key).status_code for n in range(5)]
    assert answers == [404, 404, 404, 404, 429]
    assert_error(enroll(central, good, key), 429, ErrorCode.LOCKED)


def test_codes_are_for_staff_only(central):
    assert_error(central.client.post(CODES, json={}), 401, ErrorCode.TERMINAL_NOT_AUTHORISED)
    too_long = central.client.post(
        CODES, json={"valid_minutes": 60 * 24 * 8}, headers=central.headers(central.staff_token)
    )
    assert_error(too_long, 400, ErrorCode.INVALID_REQUEST)


# -- the terminal's client against the real server over HTTPS -------------------------------------------


@pytest.mark.e2e
def test_the_terminals_client_enrolls_over_https_and_signs_every_request_after(
    start_central, tmp_path: Path, monkeypatch
):
    # requests would let this bundle replace the facility's CA the client was given: the pin must hold.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ssl.get_default_verify_paths().openssl_cafile)
    authority = make_authority(tmp_path, "Harbor County Facility CA")
    cert, cert_key = server_certificate(tmp_path, authority, "127.0.0.1")
    central = start_central(tls=TlsFiles(cert, cert_key, authority.pem))
    assert central.url.startswith("https://")
    ca = str(authority.pem)
    code = staff_call(central, "POST", "/enrollment-codes", json={}, verify=ca).json()["code"]

    key = new_private_key(tmp_path / "identity" / "terminal.key")
    assert (tmp_path / "identity" / "terminal.key").stat().st_mode & 0o777 == 0o600
    request = EnrollmentRequest(code=code, name="B North 7", location="Unit B North", public_key=public_key_text(key))
    grant = CentralClient(central.url, None, verify=ca).enroll(request)
    assert grant.facility_ca_pem == authority.pem.read_text(), "the CA to pin comes with the identity"

    client = CentralClient(central.url, grant.token, verify=ca, key=key)
    client.idle_info()
    assert client.events(after=0, wait_s=0.1).next_after == 0, "a query string is signed as sent"
    with pytest.raises(CentralError) as refused:
        CentralClient(central.url, grant.token, verify=ca).idle_info()
    assert refused.value.code is ErrorCode.TERMINAL_NOT_AUTHORISED
    with pytest.raises(CentralError) as untrusted:
        CentralClient(central.url, None).enroll(request)  # the system's CAs do not know this facility's
    assert untrusted.value.code is None


def test_a_terminal_that_left_is_refused_from_then_on(central, key):
    grant = enroll(central, new_code(central), key).json()
    leave = f"{TERMINAL}/leave"
    headers = {"Authorization": f"Bearer {grant['token']}", HEADER: proof(key, int(time.time()), "POST", leave, b"")}
    assert central.client.post(leave, headers=headers).status_code == 204
    assert_error(signed(central, key, grant["token"], IDLE), 401, ErrorCode.TERMINAL_NOT_AUTHORISED)
    assert central.store.terminal(grant["terminal_id"])["retired_at"] is not None, "kept, for its visits and audit"
    assert "terminal_left" in [event["kind"] for event in central.store.audit_events()]
