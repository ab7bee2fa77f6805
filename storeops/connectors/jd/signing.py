"""Signing a JOS gateway call (domain reference §5). Pure: no I/O, no clock.

``sign`` = uppercase hex MD5 of ``secret + k1v1k2v2… + secret`` over every parameter but
``sign``, keys in ascending order, empty values skipped. The business parameters travel as one
JSON string (``360buy_param_json``); :func:`param_json` makes that string once, and the same
string is both signed and sent, so the two can never differ by a byte.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

PARAM_JSON = "360buy_param_json"
API_VERSION = "2.0"
CHINA = ZoneInfo("Asia/Shanghai")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def param_json(params: Mapping[str, Any] | None) -> str:
    """The business parameters as the one JSON string that is signed and sent (compact,
    keys sorted, UTF-8 kept as it is: JD's own SDKs send Chinese unescaped)."""
    return json.dumps(dict(params or {}), ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True, default=str)


def sign(params: Mapping[str, Any], secret: str) -> str:
    """The ``sign`` of a call's parameters (system parameters plus ``360buy_param_json``)."""
    parts = [secret]
    for key in sorted(params):
        if key == "sign":
            continue
        value = params[key]
        if value is None or value == "":
            continue
        parts.append(f"{key}{value}")
    parts.append(secret)
    return hashlib.md5("".join(parts).encode("utf-8")).hexdigest().upper()  # noqa: S324


def verify(params: Mapping[str, Any], secret: str) -> bool:
    """Whether ``params["sign"]`` is the signature of the other parameters (the simulator)."""
    given = str(params.get("sign") or "")
    return hmac.compare_digest(given.upper(), sign(params, secret))


def jd_timestamp(moment: datetime) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in China time, as the gateway expects."""
    return moment.astimezone(CHINA).strftime(TIMESTAMP_FORMAT)


def parse_jd_timestamp(text: str) -> datetime:
    """A gateway ``timestamp`` (China time; JD's SDKs may add ``.SSS+0800``) as an aware time;
    ValueError when it is not one."""
    raw = text.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z"):
        try:
            return datetime.strptime(raw, fmt)
        except ValueError:
            pass
    return datetime.strptime(raw, TIMESTAMP_FORMAT).replace(tzinfo=CHINA)


def signed_params(method: str, app_key: str, access_token: str, business: str,
                  secret: str, timestamp: str) -> dict[str, str]:
    """Every form field of one gateway call, ``sign`` included. ``business`` is the JSON
    string from :func:`param_json`, sent exactly as signed."""
    params = {
        "method": method, "app_key": app_key, "access_token": access_token,
        "timestamp": timestamp, "v": API_VERSION, PARAM_JSON: business,
    }
    params["sign"] = sign(params, secret)
    return params
