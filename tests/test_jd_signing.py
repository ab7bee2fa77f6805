"""JOS signing (domain reference §5) and the encryption of the connector's credentials."""

from __future__ import annotations

import os
import stat
from urllib.parse import parse_qsl

import pytest

from storeops.connectors.jd import secrets as jd_secrets
from storeops.connectors.jd.signing import (
    PARAM_JSON,
    param_json,
    parse_jd_timestamp,
    sign,
    signed_params,
    verify,
)

VECTOR_JSON = ('{"end_date":null,"optional_fields":null,"order_state":"WAIT_SELLER_STOCK_OUT",'
               '"page":"1","page_size":"200","start_date":null}')


def test_signing_matches_jds_test_vector() -> None:
    params = {
        PARAM_JSON: VECTOR_JSON, "access_token": "yourtoken", "app_key": "yourappkey",
        "method": "jingdong.pop.order.search", "timestamp": "2021-05-07 09:20:39.683+0800",
        "v": "2.0",
    }
    assert sign(params, "yourappSecret") == "D70825340F4084360B9362B60DFD7930"
    # the sign itself and empty values take no part
    assert sign({**params, "sign": "X", "empty": ""}, "yourappSecret") == \
        "D70825340F4084360B9362B60DFD7930"
    assert sign(params, "anotherSecret") != "D70825340F4084360B9362B60DFD7930"


def test_the_json_sent_is_the_json_signed() -> None:
    from storeops.connectors.jd.client import encode_form

    business = param_json({"order_state": "WAIT_SELLER_STOCK_OUT", "remark": "加急 & 包邮",
                           "page": "1"})
    params = signed_params("jingdong.pop.order.search", "k", "t", business, "s",
                           "2026-12-04 10:00:00")
    body = encode_form(params)
    received = dict(parse_qsl(body.decode("ascii"), keep_blank_values=True))
    assert received[PARAM_JSON] == business  # byte for byte
    assert verify(received, "s")
    tampered = {**received, PARAM_JSON: business.replace("加急", "普通")}
    assert not verify(tampered, "s")


def test_gateway_timestamps_are_china_time() -> None:
    moment = parse_jd_timestamp("2026-12-04 08:00:00")
    assert moment.utcoffset().total_seconds() == 8 * 3600
    assert parse_jd_timestamp("2021-05-07 09:20:39.683+0800").hour == 9
    with pytest.raises(ValueError):
        parse_jd_timestamp("yesterday")


def test_credentials_are_sealed_with_a_private_key_file(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(jd_secrets.ENV_CONNECTOR_KEY, raising=False)
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    sealed = jd_secrets.encrypt(url, "app-secret-123")
    assert "app-secret-123" not in sealed
    assert jd_secrets.decrypt(url, sealed) == "app-secret-123"
    key_file = jd_secrets.connector_key_file(url)
    assert key_file.parent == tmp_path and key_file.name == "shop.db.connector_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    # another key cannot open it, and says which store to connect again
    monkeypatch.setenv(jd_secrets.ENV_CONNECTOR_KEY,
                       "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=")
    with pytest.raises(jd_secrets.SecretKeyError, match="旗舰店"):
        jd_secrets.decrypt(url, sealed, store="旗舰店")
    monkeypatch.setenv(jd_secrets.ENV_CONNECTOR_KEY, "not a key")
    with pytest.raises(jd_secrets.SecretKeyError, match="STOREOPS_CONNECTOR_KEY"):
        jd_secrets.encrypt(url, "x")
