"""A JOS gateway simulator: a local HTTP server that answers as ``https://api.jd.com/routerjson``
does (domain reference §5), for tests, benchmarks and the demo.

It checks what JD checks (method, version, timestamp within ±6 minutes, signature, app key,
access token, the call rate) and answers with JD's shapes: ``<method>_responce`` bodies with
``apiResult`` / ``…_result`` success flags, ``error_response`` {code, zh_desc, en_desc} for
gateway errors. Methods: ``jingdong.pop.order.search`` (by modified-time window, page by page),
``jingdong.pop.order.get``, ``jingdong.pop.order.shipment``,
``jingdong.stock.write.updateSkuStock``, ``jingdong.stock.read.findSkuStock``.

Gateway codes answered (JD's where known): 2 over the call rate, 4/5 version missing /
unsupported, 7/8 timestamp missing / invalid or outside ±6 minutes, 11/12 signature missing /
invalid (an unknown app key too), 14/15 method missing / unknown, 18/19 access token missing /
invalid or expired, 20 a parameter JSON that does not parse (the simulator's own choice).

Orders come from the demo store's catalogue, buyers and prices (``storeops.sim``): a history
made on start, a live stream while it runs (new orders, some paid a little later, some never
paid and cancelled, a few cancelled after payment; every change moves ``modified``), and
whatever a test injects (:meth:`JosSimulator.add_order`, faults such as an expired token, a
burst of rate limiting, 5xx answers or slow answers).
"""

from __future__ import annotations

import bisect
import json
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from storeops.common.money import allocate_cents
from storeops.common.timeutil import utcnow
from storeops.connectors.jd.client import response_key
from storeops.connectors.jd.signing import (
    API_VERSION,
    CHINA,
    PARAM_JSON,
    TIMESTAMP_FORMAT,
    parse_jd_timestamp,
    sign,
)
from storeops.sim.catalog import SimProduct, generate_products
from storeops.sim.model import (
    COD_SHARE,
    FREE_FREIGHT_FROM_CENTS,
    FREIGHT_CENTS,
    FULL_REDUCTION,
)

DEFAULT_APP_KEY = "demo-app-key"
DEFAULT_APP_SECRET = "demo-app-secret"
DEFAULT_ACCESS_TOKEN = "demo-access-token"
TIMESTAMP_SKEW = timedelta(minutes=6)
MAX_PAGE_SIZE = 100
MAX_WINDOW = timedelta(days=31)  # JD: a search window of at most one month
SEARCH = "jingdong.pop.order.search"
GET = "jingdong.pop.order.get"
SHIPMENT = "jingdong.pop.order.shipment"
STOCK_WRITE = "jingdong.stock.write.updateSkuStock"
STOCK_READ = "jingdong.stock.read.findSkuStock"
METHODS = (SEARCH, GET, SHIPMENT, STOCK_WRITE, STOCK_READ)

STATE_REMARK = {
    "WAIT_PAY": "等待付款", "WAIT_SELLER_STOCK_OUT": "等待出库",
    "WAIT_GOODS_RECEIVE_CONFIRM": "等待确认收货", "FINISHED_L": "完成",
    "TRADE_CANCELED": "取消", "LOCKED": "已锁定", "POP_ORDER_PAUSE": "暂停",
}
GATEWAY_ERRORS = {
    "2": ("限制时间内调用失败次数", "App Call Limited"),
    "4": ("缺少版本参数", "Missing Version"),
    "5": ("不支持的版本号", "Unsupported Version"),
    "7": ("缺少时间戳参数", "Missing Timestamp"),
    "8": ("非法的时间戳参数", "Invalid Timestamp"),
    "11": ("缺少签名参数", "Missing Signature"),
    "12": ("无效签名", "Invalid Signature"),
    "14": ("缺少方法名参数", "Missing Method"),
    "15": ("不存在的方法名", "Invalid Method"),
    "18": ("缺少access_token参数", "Missing access_token"),
    "19": ("无效access_token", "Invalid access_token"),
    "20": ("参数格式错误", "Invalid parameter format"),
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明",
         "超", "秀英", "丽", "强", "霞", "平")
PLACES = (
    ("北京", "北京市", "朝阳区"), ("上海", "上海市", "浦东新区"), ("广东", "广州市", "天河区"),
    ("广东", "深圳市", "南山区"), ("浙江", "杭州市", "西湖区"), ("江苏", "南京市", "鼓楼区"),
    ("四川", "成都市", "武侯区"), ("湖北", "武汉市", "洪山区"), ("山东", "青岛市", "市南区"),
    ("陕西", "西安市", "雁塔区"),
)
STREETS = ("建国路", "人民路", "中山路", "解放路", "长江路", "科技园路", "滨江大道", "文一路")
REMARKS = ("请尽快发货", "周末送货", "不要放快递柜，谢谢", "发顺丰", "送人的，不要放发票")


def jd_time(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime(TIMESTAMP_FORMAT)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class OrderFactory:
    """Orders in JD's ``orderInfo`` shape from the demo store's catalogue, buyers and price
    rules (满减 tiers, freight under ¥99, a few cash-on-delivery orders)."""

    def __init__(self, seed: int = 7, skus: int = 300) -> None:
        self.rng = random.Random(seed)
        products = generate_products(self.rng, skus, 365)
        self.products: list[SimProduct] = [p for p in products if p.status == "on_sale"]
        self._weights = _cumulative([p.popularity for p in self.products])
        self._buyers: list[tuple[str, str, str, tuple[str, str, str], str]] = []
        self._next_id = 300_000_000_000 + self.rng.randrange(1_000_000)

    def next_order_id(self) -> str:
        self._next_id += 1 + self.rng.randrange(7)
        return str(self._next_id)

    def _product(self) -> SimProduct:
        x = self.rng.random() * self._weights[-1]
        return self.products[min(bisect.bisect_left(self._weights, x), len(self.products) - 1)]

    def _buyer(self) -> tuple[str, str, str, tuple[str, str, str], str]:
        rng = self.rng
        if self._buyers and rng.random() < 0.27:  # about a quarter come back
            return rng.choice(self._buyers)
        n = len(self._buyers) + 1
        buyer = (
            f"jd_{n:06d}{rng.getrandbits(28):07x}",
            rng.choice(SURNAMES) + rng.choice(GIVEN),
            f"1{rng.choice('3578')}{rng.randrange(10)}{rng.randrange(10**8):08d}",
            rng.choice(PLACES),
            f"{rng.choice(STREETS)}{rng.randrange(1, 999)}号{rng.randrange(1, 30)}栋"
            f"{rng.randrange(101, 2999)}室",
        )
        self._buyers.append(buyer)
        return buyer

    def order(self, placed_at: datetime, *, state: str = "WAIT_SELLER_STOCK_OUT",
              paid_at: datetime | None = None, modified: datetime | None = None) -> dict:
        """One ``orderInfo``; ``paid_at`` defaults to a minute after ``placed_at`` for a paid
        state, none for WAIT_PAY."""
        rng = self.rng
        chosen: list[SimProduct] = []
        for _ in range(1 + (rng.random() < 0.30) + (rng.random() < 0.08)):
            product = self._product()
            if product not in chosen:
                chosen.append(product)
        items, gross = [], []
        for product in chosen:
            qty = 1 if (q := rng.random()) < 0.8 else 2 if q < 0.95 else 3
            gross.append(product.list_price_cents * qty)
            items.append({
                "skuId": product.platform_sku_id, "outerSkuId": product.seller_code,
                "skuName": product.title, "wareId": product.platform_sku_id[4:],
                "jdPrice": _money(product.list_price_cents), "itemTotal": str(qty),
                "giftPoint": "0",
            })
        goods = sum(gross)
        discount = 0
        if rng.random() < 0.55:
            discount = next((cut for threshold, cut in FULL_REDUCTION if goods >= threshold), 0)
        allocate_cents(discount, gross)  # the same split the demo store makes
        freight = FREIGHT_CENTS if goods - discount < FREE_FREIGHT_FROM_CENTS else 0
        cod = rng.random() < COD_SHARE
        if paid_at is None and state not in ("WAIT_PAY", "TRADE_CANCELED") and not cod:
            paid_at = placed_at + timedelta(seconds=30 + rng.randrange(300))
        account, name, phone, (province, city, county), street = self._buyer()
        info = {
            "orderId": self.next_order_id(), "venderId": "10086", "orderType": "22",
            "payType": "1-货到付款" if cod else "4-在线支付",
            "orderTotalPrice": _money(goods), "sellerDiscount": _money(discount),
            "orderSellerPrice": _money(goods - discount), "freightPrice": _money(freight),
            "orderPayment": _money(goods - discount + freight),
            "orderState": state, "orderStateRemark": STATE_REMARK.get(state, state),
            "orderRemark": rng.choice(REMARKS) if rng.random() < 0.04 else "",
            "venderRemark": "",
            "orderStartTime": jd_time(placed_at),
            "orderEndTime": "",
            "paymentConfirmTime": jd_time(paid_at) if paid_at else "",
            "modified": jd_time(modified or paid_at or placed_at),
            "pin": account,
            "consigneeInfo": {
                "fullname": name, "mobile": phone, "telephone": "", "province": province,
                "city": city, "county": county, "town": "",
                "fullAddress": f"{province}{city}{county}{street}",
            },
            "itemInfoList": items, "couponDetailList": [], "waybill": "", "logisticsId": "",
            "orderSource": "移动端订单",
        }
        return info


def _cumulative(weights: Iterable[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


@dataclass
class Shipment:
    order_id: str
    carrier_id: str
    waybill: str
    at: datetime


@dataclass
class _Faults:
    rate_limited: int = 0  # the next N calls answer code 2
    server_errors: int = 0  # the next N calls answer HTTP 503
    slow: int = 0  # the next N calls wait ``slow_seconds`` before answering
    slow_seconds: float = 0.0
    expired_tokens: set[str] = field(default_factory=set)


class JosSimulator:
    """The gateway's state and answers; :meth:`start` serves it over HTTP in a thread."""

    def __init__(
        self,
        *,
        app_key: str = DEFAULT_APP_KEY,
        app_secret: str = DEFAULT_APP_SECRET,
        access_token: str = DEFAULT_ACCESS_TOKEN,
        rate_limit: float | None = None,
        seed: int = 7,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.app_key = app_key
        self._secret = app_secret
        self.access_token = access_token
        self.rate_limit = rate_limit
        self.clock = clock
        self.factory = OrderFactory(seed)
        self.orders: dict[str, dict] = {}
        # order key → {optional fields asked for: its orderInfo as JSON}, made when a search
        # first returns it and dropped when it changes (a sync's pages are mostly these)
        self._rendered: dict[str, dict[tuple[str, ...], str]] = {}
        self._index: list[tuple[str, str]] = []  # (modified text, key), sorted
        self._keys: dict[str, str] = {}  # order key → its modified text in the index
        self.shipments: list[Shipment] = []
        self.stock: dict[str, int] = {}
        self.faults = _Faults()
        self.calls: Counter[str] = Counter()  # method → calls answered (errors included)
        self.errors: Counter[str] = Counter()  # gateway code → times answered
        self.served: Counter[str] = Counter()  # order key → times a search returned it
        self._lock = threading.RLock()
        self._bucket = float(rate_limit or 0)
        self._bucket_at = time.monotonic()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._pending: list[tuple[datetime, str, str]] = []  # (when, order key, next state)

    # --- the orders -----------------------------------------------------------------------

    def add_order(self, info: Mapping[str, Any]) -> str:
        """Put an ``orderInfo`` (any shape: tests inject malformed ones) in the store; returns
        its key (its ``orderId``, or a made-up key when it has none)."""
        info = dict(info)
        with self._lock:
            key = str(info.get("orderId") or f"?{len(self.orders) + 1}")
            modified = str(info.get("modified") or jd_time(self.clock()))
            self._put(key, info, modified)
        return key

    def add_orders(self, infos: Iterable[Mapping[str, Any]]) -> list[str]:
        return [self.add_order(info) for info in infos]

    def generate(self, count: int, start: datetime, end: datetime, *,
                 unpaid_share: float = 0.1, cancelled_share: float = 0.02) -> list[str]:
        """``count`` orders of the demo store placed between ``start`` and ``end`` (evenly,
        oldest first), each last modified a little after it was placed (never after
        ``end``)."""
        rng = self.factory.rng
        span = max(0.0, (end - start).total_seconds())
        keys = []
        with self._lock:
            for n in range(count):
                placed = start + timedelta(seconds=span * n / max(1, count))
                roll = rng.random()
                if roll < unpaid_share:
                    state, paid, modified = "WAIT_PAY", None, placed
                elif roll < unpaid_share + cancelled_share:
                    state, paid, modified = "TRADE_CANCELED", None, placed
                else:
                    state = "WAIT_SELLER_STOCK_OUT"
                    paid = min(end, placed + timedelta(seconds=30 + rng.randrange(300)))
                    modified = paid
                info = self.factory.order(placed, state=state, paid_at=paid, modified=modified)
                if state == "TRADE_CANCELED":
                    info["orderEndTime"] = info["modified"]
                self._put(info["orderId"], info, info["modified"])
                keys.append(info["orderId"])
        return keys

    def update_order(self, order_id: str, *, modified: datetime | None = None,
                     **fields: Any) -> dict:
        """Change an order's fields as JD would (its ``modified`` moves to now, or to
        ``modified``); returns the new ``orderInfo``."""
        with self._lock:
            info = dict(self.orders[order_id])
            info.update(fields)
            if "orderState" in fields and "orderStateRemark" not in fields:
                info["orderStateRemark"] = STATE_REMARK.get(fields["orderState"], "")
            text = jd_time(modified or self.clock())
            info["modified"] = text
            self._put(order_id, info, text)
            return dict(info)

    def order(self, order_id: str) -> dict:
        with self._lock:
            return json.loads(json.dumps(self.orders[order_id]))

    def _put(self, key: str, info: dict, modified: str) -> None:
        old = self._keys.get(key)
        if old is not None:
            pos = bisect.bisect_left(self._index, (old, key))
            if pos < len(self._index) and self._index[pos] == (old, key):
                del self._index[pos]
        bisect.insort(self._index, (modified, key))
        self._keys[key] = modified
        self.orders[key] = info
        self._rendered.pop(key, None)

    # --- faults -----------------------------------------------------------------------------

    def expire_token(self, token: str | None = None) -> None:
        """The access token stops working (JD answers 19, as for an unknown token)."""
        with self._lock:
            self.faults.expired_tokens.add(token or self.access_token)

    def rate_limit_next(self, calls: int) -> None:
        """The next ``calls`` calls answer gateway code 2."""
        with self._lock:
            self.faults.rate_limited += calls

    def fail_next(self, calls: int) -> None:
        """The next ``calls`` calls answer HTTP 503 (a gateway behind a failing proxy)."""
        with self._lock:
            self.faults.server_errors += calls

    def slow_next(self, calls: int, seconds: float) -> None:
        """The next ``calls`` calls answer only after ``seconds`` (client timeouts)."""
        with self._lock:
            self.faults.slow += calls
            self.faults.slow_seconds = seconds

    # --- the gateway ------------------------------------------------------------------------

    def handle(self, params: Mapping[str, str]) -> tuple[int, dict | str]:
        """(HTTP status, body) for one call's parameters."""
        with self._lock:
            if self.faults.server_errors:
                self.faults.server_errors -= 1
                return 503, "<html><body>503 Service Temporarily Unavailable</body></html>"
            delay = 0.0
            if self.faults.slow:
                self.faults.slow -= 1
                delay = self.faults.slow_seconds
        if delay:
            time.sleep(delay)
        method = params.get("method", "")
        with self._lock:
            self.calls[method or "?"] += 1
        code = self._gateway_check(params)
        if code:
            with self._lock:
                self.errors[code] += 1
            zh, en = GATEWAY_ERRORS[code]
            return 200, {"error_response": {"code": code, "zh_desc": zh, "en_desc": en}}
        try:
            business = json.loads(params.get(PARAM_JSON) or "{}")
            if not isinstance(business, dict):
                raise ValueError
        except ValueError:
            zh, en = GATEWAY_ERRORS["20"]
            return 200, {"error_response": {"code": "20", "zh_desc": zh, "en_desc": en}}
        answer = {
            SEARCH: self._search, GET: self._get, SHIPMENT: self._ship,
            STOCK_WRITE: self._stock_write, STOCK_READ: self._stock_read,
        }[method](business)
        return 200, {response_key(method): {"code": "0", **answer}}

    def _gateway_check(self, params: Mapping[str, str]) -> str | None:
        method = params.get("method")
        if not method:
            return "14"
        if not params.get("v"):
            return "4"
        if params["v"] != API_VERSION:
            return "5"
        stamp = params.get("timestamp")
        if not stamp:
            return "7"
        try:
            moment = parse_jd_timestamp(stamp)
        except ValueError:
            return "8"
        if abs(moment - self.clock()) > TIMESTAMP_SKEW:
            return "8"
        if not params.get("sign"):
            return "11"
        if params.get("app_key") != self.app_key or \
                str(params["sign"]).upper() != sign(params, self._secret):
            return "12"
        token = params.get("access_token")
        if not token:
            return "18"
        if token != self.access_token or token in self.faults.expired_tokens:
            return "19"
        if method not in METHODS:
            return "15"
        if self._over_rate():
            return "2"
        return None

    def _over_rate(self) -> bool:
        with self._lock:
            if self.faults.rate_limited:
                self.faults.rate_limited -= 1
                return True
            if not self.rate_limit:
                return False
            now = time.monotonic()
            capacity = max(1.0, self.rate_limit)
            self._bucket = min(capacity, self._bucket + (now - self._bucket_at) * self.rate_limit)
            self._bucket_at = now
            if self._bucket < 1:
                return True
            self._bucket -= 1
            return False

    @staticmethod
    def _api_result(ok: bool = True, zh: str = "成功", en: str = "success",
                    number: int = 10100000) -> dict:
        return {"success": ok, "chineseErrCode": zh, "englishErrCode": en, "numberCode": number}

    def _search_failure(self, zh: str, en: str) -> dict:
        return {"searchorderinfo_result": {
            "apiResult": self._api_result(False, zh, en, 10100001), "orderTotal": 0,
            "orderInfoList": [],
        }}

    def _search(self, p: Mapping[str, Any]) -> dict:
        try:
            start = _parse_time(p.get("start_date"))
            end = _parse_time(p.get("end_date"))
        except ValueError:
            return self._search_failure("时间格式错误", "bad start_date or end_date")
        if start is None or end is None:
            return self._search_failure("开始时间和结束时间不能为空",
                                        "start_date and end_date are required")
        if end < start or end - start > MAX_WINDOW:
            return self._search_failure("查询时间间隔不能超过一个月",
                                        "the time window must be at most one month")
        try:
            page = int(p.get("page") or 1)
            size = int(p.get("page_size") or 20)
        except (TypeError, ValueError):
            return self._search_failure("分页参数错误", "bad page or page_size")
        if page < 1 or size < 1 or size > MAX_PAGE_SIZE:
            return self._search_failure("每页条数不能超过100", "page_size must be 1-100")
        states = {s.strip() for s in str(p.get("order_state") or "").split(",") if s.strip()}
        fields = [f.strip() for f in str(p.get("optional_fields") or "").split(",")
                  if f.strip()]
        by_start = str(p.get("dateType") or "0") == "1"
        lo_text, hi_text = jd_time(start), jd_time(end)
        with self._lock:
            if by_start:
                keys = sorted(
                    (info.get("orderStartTime", ""), key) for key, info in self.orders.items()
                    if lo_text <= str(info.get("orderStartTime", "")) <= hi_text
                )
                found = [key for _, key in keys]
            else:
                lo = bisect.bisect_left(self._index, (lo_text, ""))
                hi = bisect.bisect_right(self._index, (hi_text, "\uffff"))
                found = [key for _, key in self._index[lo:hi]]
            if states:
                found = [k for k in found if self.orders[k].get("orderState") in states]
            chunk = found[(page - 1) * size: page * size]
            self.served.update(chunk)
            infos = _Infos(_select(self.orders[k], fields) for k in chunk)
            infos.rendered = [self._render(k, tuple(fields)) for k in chunk]
        return {"searchorderinfo_result": {
            "apiResult": self._api_result(), "orderTotal": len(found), "orderInfoList": infos,
        }}

    def _render(self, key: str, fields: tuple[str, ...]) -> str:
        """The order as a search answers it, in JSON (under the lock)."""
        cached = self._rendered.setdefault(key, {})
        text = cached.get(fields)
        if text is None:
            text = cached[fields] = _json(_select(self.orders[key], list(fields)))
        return text

    def _get(self, p: Mapping[str, Any]) -> dict:
        order_id = str(p.get("order_id") or p.get("orderId") or "")
        fields = [f.strip() for f in str(p.get("optional_fields") or "").split(",")
                  if f.strip()]
        with self._lock:
            info = self.orders.get(order_id)
            if info is None:
                return {"orderDetailInfo": {
                    "apiResult": self._api_result(False, "订单不存在", "order not found",
                                                  10100024),
                    "orderInfo": None,
                }}
            return {"orderDetailInfo": {"apiResult": self._api_result(),
                                        "orderInfo": _select(info, fields)}}

    def _ship(self, p: Mapping[str, Any]) -> dict:
        order_id = str(p.get("orderId") or p.get("order_id") or "")
        carrier = str(p.get("logiCoprId") or "")
        waybill = str(p.get("logiNo") or "")

        def refuse(zh: str, en: str) -> dict:
            return {"sopjosshipment_result": {"success": False, "chineseErrCode": zh,
                                              "englishErrCode": en}}

        if not order_id or not carrier or not waybill:
            return refuse("订单号、物流公司和运单号不能为空",
                          "orderId, logiCoprId and logiNo are required")
        with self._lock:
            info = self.orders.get(order_id)
            if info is None:
                return refuse("订单不存在", "order not found")
            state = info.get("orderState")
            if state == "WAIT_GOODS_RECEIVE_CONFIRM" or state == "FINISHED_L":
                return refuse("订单已出库，不能重复发货", "the order has already been shipped")
            if state != "WAIT_SELLER_STOCK_OUT":
                return refuse(f"订单状态为{STATE_REMARK.get(state, state)}，不能出库",
                              f"the order is {state}, not WAIT_SELLER_STOCK_OUT")
            now = self.clock()
            self.shipments.append(Shipment(order_id, carrier, waybill, now))
            self.update_order(order_id, orderState="WAIT_GOODS_RECEIVE_CONFIRM",
                              waybill=waybill, logisticsId=carrier, modified=now)
        return {"sopjosshipment_result": {"success": True, "chineseErrCode": "成功",
                                          "englishErrCode": "success"}}

    def _stock_write(self, p: Mapping[str, Any]) -> dict:
        sku = str(p.get("skuId") or "")
        try:
            quantity = int(p.get("stockNum"))
        except (TypeError, ValueError):
            quantity = -1
        if not sku or quantity < 0:
            return {"success": False, "chineseErrCode": "参数错误：skuId或stockNum不正确",
                    "englishErrCode": "bad skuId or stockNum"}
        with self._lock:
            self.stock[sku] = quantity
        return {"success": True}

    def _stock_read(self, p: Mapping[str, Any]) -> dict:
        skus = [s.strip() for s in str(p.get("skuId") or "").split(",") if s.strip()]
        with self._lock:
            rows = [{"skuId": s, "stockNum": self.stock.get(s, 0)} for s in skus]
        return {"skuStocks": rows}

    # --- the live stream --------------------------------------------------------------------

    def tick(self, now: datetime, orders_per_minute: float, seconds: float) -> None:
        """Advance the live stream by ``seconds`` ending at ``now``: new orders (about a third
        unpaid at first: most pay within two minutes, the rest are cancelled after ten), and
        a few paid orders cancelled by their buyer."""
        rng = self.factory.rng
        with self._lock:
            due = [p for p in self._pending if p[0] <= now]
            self._pending = [p for p in self._pending if p[0] > now]
            for when, key, state in due:
                info = self.orders.get(key)
                if info is None or info.get("orderState") != "WAIT_PAY":
                    continue
                if state == "WAIT_SELLER_STOCK_OUT":
                    self.update_order(key, orderState=state, modified=when,
                                      paymentConfirmTime=jd_time(when))
                else:
                    self.update_order(key, orderState=state, modified=when,
                                      orderEndTime=jd_time(when))
            for _ in range(_poisson(rng, orders_per_minute * seconds / 60)):
                placed = now - timedelta(seconds=rng.random() * seconds)
                if rng.random() < 0.3:
                    info = self.factory.order(placed, state="WAIT_PAY")
                    if rng.random() < 0.8:
                        self._pending.append((placed + timedelta(seconds=rng.uniform(5, 120)),
                                              info["orderId"], "WAIT_SELLER_STOCK_OUT"))
                    else:
                        self._pending.append((placed + timedelta(minutes=10),
                                              info["orderId"], "TRADE_CANCELED"))
                else:
                    info = self.factory.order(placed, paid_at=placed, modified=placed)
                self._put(info["orderId"], info, info["modified"])
            if self.orders and rng.random() < seconds / 600:
                waiting = [k for k, i in self.orders.items()
                           if i.get("orderState") == "WAIT_SELLER_STOCK_OUT"][-50:]
                if waiting:
                    self.update_order(rng.choice(waiting), orderState="TRADE_CANCELED",
                                      orderEndTime=jd_time(now), modified=now)

    def start_stream(self, orders_per_minute: float, interval: float = 1.0) -> None:
        """A thread that calls :meth:`tick` every ``interval`` seconds until :meth:`stop`."""
        if orders_per_minute <= 0:
            return

        def run() -> None:
            while not self._stop.wait(interval):
                self.tick(self.clock(), orders_per_minute, interval)

        thread = threading.Thread(target=run, name="jos-sim-stream", daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- serving ----------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; returns the gateway URL (``…/routerjson``)."""
        self._server = make_server(self, host, port)
        thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                  name="jos-sim-http", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/routerjson"

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> JosSimulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class _Infos(list):
    """A search's ``orderInfoList``; ``rendered``: the same orders in JSON, ready to send."""

    rendered: list[str] | None = None


_INFOS_MARK = "\x00orderInfoList\x00"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def encode_answer(answer: Mapping[str, Any]) -> str:
    """An answer as the gateway sends it (compact JSON, Chinese unescaped). A search's orders
    are put in as they were rendered when first served, not encoded again."""
    inner = next(iter(answer.values()), None) if len(answer) == 1 else None
    found = inner.get("searchorderinfo_result") if isinstance(inner, Mapping) else None
    infos = found.get("orderInfoList") if isinstance(found, Mapping) else None
    if not isinstance(infos, _Infos) or infos.rendered is None:
        return _json(answer)
    key = next(iter(answer))
    text = _json({key: {**inner, "searchorderinfo_result": {
        **found, "orderInfoList": _INFOS_MARK}}})
    mark = _json(_INFOS_MARK)
    head, _, tail = text.partition(mark)
    return f"{head}[{','.join(infos.rendered)}]{tail}"


def _select(info: Mapping[str, Any], fields: list[str]) -> dict:
    """Only the optional fields asked for (all when none are named), as JD answers."""
    if not fields:
        return dict(info)
    return {f: info[f] for f in fields if f in info}


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    return parse_jd_timestamp(str(value)).astimezone(UTC)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a sync reuses one connection
    simulator: JosSimulator

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._answer(b"")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self._answer(self.rfile.read(length) if length else b"")

    def _answer(self, body: bytes) -> None:
        if urlsplit(self.path).path.rstrip("/") not in ("/routerjson", ""):
            self._send(404, b'{"error":"not found"}', "application/json")
            return
        params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        status, answer = self.simulator.handle(params)
        if isinstance(answer, str):
            self._send(status, answer.encode("utf-8"), "text/html; charset=utf-8")
        else:
            data = encode_answer(answer)
            self._send(status, data.encode("utf-8"), "application/json;charset=utf-8")

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout test)


def make_server(simulator: JosSimulator, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("JosHandler", (_Handler,), {"simulator": simulator})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
