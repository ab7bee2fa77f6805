"""A JOS gateway client (domain reference §5) over httpx, synchronous.

``JosClient(gateway, app_key, app_secret, access_token).call(method, params)`` signs the call,
POSTs it as a form (system parameters ``method``, ``app_key``, ``access_token``,
``timestamp`` in China time, ``v=2.0``, ``sign``; the business parameters as one JSON string in
``360buy_param_json``, sent byte for byte as signed) and returns the body of
``<method with . as _>_responce`` (JD's spelling; ``_response`` is accepted too).

Failures, checked at both levels JD reports them:
- gateway: ``{"error_response": {"code", "zh_desc", "en_desc"}}``;
- business: ``apiResult.success`` (order APIs), ``…_result.success`` (shipment), or a
  non-zero ``code`` beside them.

Codes that say the credentials or the clock are wrong raise :class:`JosAuthError` and are
never retried: 7/8 (timestamp missing / outside JD's ±6 minutes), 11/12 (signature missing /
invalid; an unknown app key is answered the same way), 18/19 (access token missing / invalid
or expired: JD answers an expired token as an invalid one, "无效access_token"). Code 2 (call
rate over the app's limit) raises :class:`JosRateLimited`. Rate limiting, timeouts, connection
errors and 5xx answers are retried with exponential back-off and full jitter, a bounded number
of times (:class:`RetryPolicy`); the last failure is raised.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from storeops.common.errors import StoreopsError, Term
from storeops.common.timeutil import utcnow
from storeops.connectors.jd.signing import jd_timestamp, param_json, signed_params

RATE_LIMITED = "2"
TIMESTAMP_CODES = frozenset({"7", "8"})
SIGNATURE_CODES = frozenset({"11", "12"})
TOKEN_CODES = frozenset({"18", "19"})
AUTH_CODES = TIMESTAMP_CODES | SIGNATURE_CODES | TOKEN_CODES


class JdText(Term):
    """JD's own words for an error: its Chinese text on Chinese pages, its English elsewhere."""

    def __new__(cls, zh: str | None, en: str | None) -> JdText:
        text = super().__new__(cls, en or zh or "", en or zh or "")
        text.zh = zh or en or ""
        return text

    def localised(self, lang: str) -> str:
        return self.zh if lang == "zh-CN" else str(self)


class JosError(StoreopsError):
    """JD refused a call (or never answered it). ``jd_code`` is JD's code ("12", a business
    ``numberCode``…; "http" / "timeout" / "network" when no JOS answer came), ``jd_message``
    JD's text (Chinese where JD gave one), ``method`` the API called."""

    def __init__(self, code: str, message: str, *, method: str = "", en: str | None = None,
                 key: str = "jd.jos_error") -> None:
        self.jd_code = str(code)
        self.jd_message = message
        self.method = method
        reason = JdText(message, en)
        super().__init__(f"JD {method or 'gateway'} failed: {reason} (code {code})", key=key,
                         method=method or "gateway", reason=reason, jd_code=self.jd_code)


class JosAuthError(JosError):
    """Signature, timestamp or access-token error: the store must be connected again (or the
    clock set right); retrying cannot help."""


class JosRateLimited(JosError):
    """Gateway code 2: over the app's call rate."""


class JosUnavailable(JosError):
    """No usable answer: timeout, connection error, a 5xx, or a body that is not JSON."""


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` calls at most; before the n-th retry a pause drawn uniformly from
    [0, min(max_delay, base_delay × 2ⁿ)] (exponential back-off with full jitter)."""

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, retry: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay, self.base_delay * (2 ** retry)))


def encode_form(params: Mapping[str, str]) -> bytes:
    """The request body: ``application/x-www-form-urlencoded`` UTF-8 of the signed fields."""
    return urlencode(params, encoding="utf-8").encode("ascii")


def response_key(method: str) -> str:
    return method.replace(".", "_") + "_responce"


class JosClient:
    """One store's credentials against one gateway. Use as a context manager, or ``close()``."""

    def __init__(
        self,
        gateway: str,
        app_key: str,
        app_secret: str,
        access_token: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self.gateway = gateway
        self.app_key = app_key
        self._secret = app_secret
        self._token = access_token
        self.retry = retry or RetryPolicy()
        self._clock = clock
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._http = httpx.Client(timeout=timeout, headers={
            "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
            "Accept": "application/json",
        })
        self.calls = 0  # HTTP requests sent, retries included
        self.retries = 0

    def __repr__(self) -> str:  # never the secret or the token
        return f"JosClient(gateway={self.gateway!r}, app_key={self.app_key!r})"

    def __enter__(self) -> JosClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The body of JD's ``…_responce`` for ``method``; JosError on any failure."""
        business = param_json(params)
        last: JosError | None = None
        for attempt in range(max(1, self.retry.attempts)):
            if attempt:
                self.retries += 1
                self._sleep(self.retry.delay(attempt - 1, self._rng))
            try:
                return self._call_once(method, business)
            except (JosRateLimited, JosUnavailable) as exc:
                last = exc
        assert last is not None
        raise last

    def _call_once(self, method: str, business: str) -> dict[str, Any]:
        form = signed_params(method, self.app_key, self._token, business, self._secret,
                             jd_timestamp(self._clock()))
        self.calls += 1
        try:
            reply = self._http.post(self.gateway, content=encode_form(form))
        except httpx.TimeoutException as exc:
            raise JosUnavailable("timeout", f"no answer in time ({type(exc).__name__})",
                                 method=method) from None
        except httpx.HTTPError as exc:
            raise JosUnavailable("network", f"{type(exc).__name__}: {exc}",
                                 method=method) from None
        if reply.status_code >= 500:
            raise JosUnavailable("http", f"HTTP {reply.status_code}", method=method)
        try:
            body = reply.json()
        except ValueError:
            raise JosUnavailable("http", f"HTTP {reply.status_code}: not JSON",
                                 method=method) from None
        if not isinstance(body, dict):
            raise JosUnavailable("http", "the answer is not a JSON object", method=method)
        return parse_response(method, body)


def parse_response(method: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The ``…_responce`` body of a decoded answer, or the JosError it reports."""
    error = body.get("error_response")
    if isinstance(error, Mapping):
        raise gateway_error(method, error)
    key = response_key(method)
    inner = body.get(key)
    if inner is None:
        inner = body.get(key[: -len("_responce")] + "_response")
    if not isinstance(inner, Mapping):
        raise JosError("response", f"no {key} in the answer", method=method)
    check_business(method, inner)
    return dict(inner)


def gateway_error(method: str, error: Mapping[str, Any]) -> JosError:
    code = str(error.get("code", "")).strip()
    zh = str(error.get("zh_desc") or "") or None
    en = str(error.get("en_desc") or "") or None
    if code == RATE_LIMITED:
        return JosRateLimited(code, zh or en or "rate limited", method=method, en=en,
                              key="jd.rate_limited")
    if code in AUTH_CODES:
        return JosAuthError(code, zh or en or "credentials refused", method=method, en=en,
                            key="jd.auth_error")
    return JosError(code, zh or en or "error", method=method, en=en)


def check_business(method: str, inner: Mapping[str, Any]) -> None:
    """Raise the business failure a ``…_responce`` reports: its ``code`` when not "0", its
    own ``success`` false, an ``apiResult`` with ``success`` false, or a ``…_result`` whose
    ``success`` is false."""
    code = inner.get("code")
    if code is not None and str(code) not in ("0", ""):
        raise JosError(str(code), str(inner.get("zh_desc") or inner.get("msg") or "error"),
                       method=method, en=inner.get("en_desc"))
    for value in (inner, *inner.values()):
        if not isinstance(value, Mapping):
            continue
        api = value.get("apiResult")
        result = api if isinstance(api, Mapping) else value
        if "success" in result and not _true(result.get("success")):
            number = result.get("numberCode") or result.get("code") or "business"
            zh = result.get("chineseErrCode") or result.get("englishErrCode") or "failed"
            raise JosError(str(number), str(zh), method=method,
                           en=result.get("englishErrCode"), key="jd.business_error")


def _true(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)
